package cli_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// These tests run the agent against private session and system buses
// (dbus-daemon), where a stand-in (testdata/lockbus.py, python3-dbus)
// owns org.freedesktop.ScreenSaver and org.freedesktop.login1 and
// announces what a desktop would.

// startBus starts a dbus-daemon with args and returns its address, which
// it prints once it accepts connections.
func startBus(t *testing.T, args ...string) string {
	t.Helper()
	testenv.Tool(t, "dbus-daemon", "dbus")
	cmd := exec.Command("dbus-daemon", append(args, "--nofork", "--print-address=1")...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		if a == "" {
			t.Fatalf("dbus-daemon %v printed no address", args)
		}
		return a
	case <-time.After(30 * time.Second): // a hang guard only
		t.Fatalf("dbus-daemon %v did not start", args)
	}
	return ""
}

// systemBusConfig is a system bus that lets its one user do anything:
// what matters here is who owns a name, not the policy.
const systemBusConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow send_type="signal"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`

// lockBuses starts both buses and the stand-in, and returns the
// environment that points at them and the stand-in's controls.
type lockBuses struct {
	env   []string
	in    io.Writer
	lines chan string
}

func startLockBuses(t *testing.T) *lockBuses {
	t.Helper()
	testenv.Tool(t, "/usr/bin/python3", "python3-dbus")
	dir := t.TempDir()
	session := startBus(t, "--session", "--address=unix:path="+filepath.Join(dir, "session"))
	conf := filepath.Join(dir, "system.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(systemBusConfig, "%s", filepath.Join(dir, "system"), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	system := startBus(t, "--config-file="+conf)
	b := &lockBuses{env: []string{"DBUS_SESSION_BUS_ADDRESS=" + session, "DBUS_SYSTEM_BUS_ADDRESS=" + system}, lines: make(chan string, 16)}
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "lockbus.py"))
	cmd.Env = append(os.Environ(), b.env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	b.in = in
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	b.expect(t, "ready")
	return b
}

func (b *lockBuses) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok || l != want {
			t.Fatalf("stand-in said %q (open %v), want %q", l, ok, want)
		}
	case <-time.After(30 * time.Second): // a hang guard only
		t.Fatalf("stand-in never said %q", want)
	}
}

// emit has the owner of the name announce what.
func (b *lockBuses) emit(t *testing.T, what string) {
	t.Helper()
	if _, err := io.WriteString(b.in, what+"\n"); err != nil {
		t.Fatal(err)
	}
	b.expect(t, "sent "+what)
}

// impostor sends the same announcement from a connection that owns no
// name: the stand-in's script, run again with only its own unique names.
func (b *lockBuses) impostor(t *testing.T, what string) {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", filepath.Join("testdata", "lockbus.py"), "--impostor", what)
	cmd.Env = append(os.Environ(), b.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("impostor %s: %v\n%s", what, err, out)
	}
}

type guardStatus struct {
	Running bool `json:"running"`
	Vaults  []struct {
		ID string `json:"id"`
	} `json:"vaults"`
	Guard struct {
		LockOn     []string `json:"lock_on"`
		NoLockOn   []string `json:"no_lock_on"`
		LockedAt   string   `json:"locked_at"`
		LockReason string   `json:"lock_reason"`
		Confirm    bool     `json:"confirm"`
		Allowed    []string `json:"allowed"`
		Ignored    int      `json:"ignored"`
	} `json:"guard"`
}

func agentStatus(t *testing.T, kr func(args ...string) *exec.Cmd) guardStatus {
	t.Helper()
	out, stderr, code := runBounded(t, kr("agent", "status", "--json"))
	if code != 0 {
		t.Fatalf("kr agent status: exit %d: %s", code, stderr)
	}
	var st guardStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("kr agent status --json: %v\n%s", err, out)
	}
	return st
}

// untilStatus asks the agent until cond holds of its status; the 30 s
// bound is a hang guard, not a deadline the agent is held to.
func untilStatus(t *testing.T, kr func(args ...string) *exec.Cmd, what string, cond func(guardStatus) bool) guardStatus {
	t.Helper()
	guard := time.Now().Add(30 * time.Second)
	for {
		st := agentStatus(t, kr)
		if cond(st) {
			return st
		}
		if time.Now().After(guard) {
			t.Fatalf("the agent never showed %s: %+v", what, st)
		}
	}
}

// TestAgentLocksWithTheDesktop: after kr unlock, the screensaver's
// ActiveChanged(true), logind's session Lock, its PrepareForSleep(true)
// and the session's Active turning false each lock the agent within a
// second, and status says why; each announcement sent first by a
// connection that does not own the name is ignored (counted, the vault
// stays unlocked); and a later kr get, with no passphrase to hand, is
// locked again.
func TestAgentLocksWithTheDesktop(t *testing.T) {
	buses := startLockBuses(t)
	vault, _ := newTestVault(t)
	run, tmp := t.TempDir(), t.TempDir()
	kr := func(args ...string) *exec.Cmd {
		cmd := krWithAgent(t, vault, run, tmp, args...)
		cmd.Env = append(cmd.Env, buses.env...)
		cmd.Env = append(cmd.Env, "KR_PINENTRY=never")
		return cmd
	}
	t.Cleanup(func() { runBounded(t, kr("agent", "stop")) })
	set := kr("set", "app/token")
	set.Stdin = strings.NewReader("the value")
	if _, stderr, code := runBounded(t, set); code != 0 {
		t.Fatalf("kr set: exit %d: %s", code, stderr)
	}
	cases := []struct{ emit, reason string }{
		{"screen", "screen locked"},
		{"lock", "session locked"},
		{"sleep", "system going to sleep"},
		{"switch", "session switched away"},
	}
	for _, c := range cases {
		unlock := kr("unlock")
		unlock.Env = append(unlock.Env, "KR_PASSPHRASE=pw")
		if _, stderr, code := runBounded(t, unlock); code != 0 {
			t.Fatalf("kr unlock: exit %d: %s", code, stderr)
		}
		st := untilStatus(t, kr, "every event listened for", func(st guardStatus) bool { return len(st.Guard.NoLockOn) == 0 })
		if strings.Join(st.Guard.LockOn, ",") != "screen,session,sleep" {
			t.Fatalf("the agent does not listen for every event: lock_on %v, not watched %v", st.Guard.LockOn, st.Guard.NoLockOn)
		}
		if len(st.Vaults) != 1 {
			t.Fatalf("%s: kr unlock left %d vaults unlocked", c.emit, len(st.Vaults))
		}
		before := st.Guard.Ignored
		buses.impostor(t, c.emit)
		st = untilStatus(t, kr, "the impostor's announcement ignored", func(st guardStatus) bool { return st.Guard.Ignored > before })
		if len(st.Vaults) != 1 {
			t.Fatalf("%s from a connection that does not own the name locked the agent: %+v", c.emit, st.Guard)
		}
		sent := time.Now()
		buses.emit(t, c.emit)
		st = untilStatus(t, kr, "a lock after "+c.emit, func(st guardStatus) bool { return len(st.Vaults) == 0 })
		at, err := time.Parse(time.RFC3339Nano, st.Guard.LockedAt)
		if err != nil {
			t.Fatalf("locked_at %q: %v", st.Guard.LockedAt, err)
		}
		if d := at.Sub(sent); d > time.Second {
			t.Errorf("%s locked the agent %v after it was sent", c.emit, d)
		}
		if st.Guard.LockReason != c.reason {
			t.Errorf("%s: lock reason %q, want %q", c.emit, st.Guard.LockReason, c.reason)
		}
		out, _, code := runBounded(t, kr("agent", "status"))
		if code != 0 || !strings.Contains(out, "("+c.reason+")") {
			t.Errorf("kr agent status does not say why it locked (%s):\n%s", c.reason, out)
		}
	}
	// Locked: kr get needs the passphrase again, and here nothing can ask.
	out, stderr, code := runBounded(t, kr("get", "app/token"))
	if code != 4 || out != "" || !strings.Contains(stderr, "locked") {
		t.Errorf("kr get after the lock: exit %d, stdout %q, stderr %q; want exit 4, locked", code, out, stderr)
	}
}

// TestAgentWithoutBuses: with no system bus and a session bus that
// accepts and never answers, the agent starts and serves at once, and
// status says what it does not listen for and why.
func TestAgentWithoutBuses(t *testing.T) {
	dir := t.TempDir()
	silent := filepath.Join(dir, "silent")
	l, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	vault, _ := newTestVault(t)
	run, tmp := t.TempDir(), t.TempDir()
	kr := func(args ...string) *exec.Cmd {
		cmd := krWithAgent(t, vault, run, tmp, args...)
		cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+silent,
			"DBUS_SYSTEM_BUS_ADDRESS=unix:path="+filepath.Join(dir, "none"), "KR_PINENTRY=never")
		return cmd
	}
	t.Cleanup(func() { runBounded(t, kr("agent", "stop")) })
	unlock := kr("--timeout", "2s", "unlock")
	unlock.Env = append(unlock.Env, "KR_PASSPHRASE=pw")
	if _, stderr, code := runBounded(t, unlock); code != 0 {
		t.Fatalf("kr unlock with a silent bus: exit %d: %s", code, stderr)
	}
	st := untilStatus(t, kr, "the buses given up on", func(st guardStatus) bool {
		return len(st.Guard.NoLockOn) == 3 && !strings.Contains(st.Guard.NoLockOn[0], "connecting")
	})
	if len(st.Guard.LockOn) != 0 || len(st.Vaults) != 1 {
		t.Errorf("status: %+v", st)
	}
	out, _, _ := runBounded(t, kr("agent", "status"))
	if !strings.Contains(out, "not watched: screen: session bus: the bus did not answer") || !strings.Contains(out, "not watched: sleep:") {
		t.Errorf("kr agent status does not say what is not watched:\n%s", out)
	}
}
