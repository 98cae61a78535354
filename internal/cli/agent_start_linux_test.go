package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// krWithAgent is krCommand with the agent allowed: its socket under run,
// or with run empty under the per-uid directory in tmp.
func krWithAgent(t *testing.T, vault, run, tmp string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := krCommand(t, vault, args...)
	cmd.Env = append(cmd.Env, "KR_NO_AGENT=", "XDG_RUNTIME_DIR="+run, "TMPDIR="+tmp)
	return cmd
}

// runBounded runs cmd, failing the test if it has not ended within a
// generous bound: the defect under test was a hang.
func runBounded(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v hung (killed after 30s); stderr: %s", cmd.Args, errb.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// agentDir is the per-uid directory kr uses under tmp without
// XDG_RUNTIME_DIR.
func agentDir(tmp string) string { return filepath.Join(tmp, fmt.Sprintf("kr-%d", os.Getuid())) }

// TestAgentStartRefusesForeignDir: another user who made the per-uid
// directory under the temp dir first gets it refused before kr opens
// anything in it (it could hold start.lock, or plant a symlink there).
func TestAgentStartRefusesForeignDir(t *testing.T) {
	testenv.Root(t)
	vault, _ := newTestVault(t)
	tmp := t.TempDir()
	dir := agentDir(tmp)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"agent", "start"}, {"unlock"}} {
		cmd := krWithAgent(t, vault, "", tmp, append([]string{"--timeout", "5s"}, args...)...)
		cmd.Env = append(cmd.Env, "KR_PASSPHRASE=pw")
		_, stderr, code := runBounded(t, cmd)
		if code == 0 || !strings.Contains(stderr, "owned by uid 65534") {
			t.Errorf("kr %s in a directory of uid 65534: exit %d, %s", args[0], code, stderr)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "start.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("kr created start.lock in another user's directory (%v)", err)
	}
}

// TestAgentStartRefusesSymlinkedLock: a start.lock that is a symlink is
// not followed: its target is neither created nor truncated.
func TestAgentStartRefusesSymlinkedLock(t *testing.T) {
	tmp := t.TempDir()
	dir := agentDir(tmp)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(tmp, "target")
	if err := os.Symlink(target, filepath.Join(dir, "start.lock")); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runBounded(t, krWithAgent(t, filepath.Join(tmp, "vault"), "", tmp, "--timeout", "5s", "agent", "start"))
	if code == 0 {
		t.Errorf("kr agent start with a symlinked start.lock succeeded: %s", stderr)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("kr created the symlink's target (%v)", err)
	}
	os.WriteFile(target, []byte("keep"), 0o600)
	runBounded(t, krWithAgent(t, filepath.Join(tmp, "vault"), "", tmp, "--timeout", "5s", "agent", "start"))
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Fatalf("the symlink's target now holds %q", b)
	}
}

// TestAgentStartLockHeld: a start lock someone holds makes kr agent start
// give up when --timeout ends (exit 4, naming the directory) instead of
// waiting forever.
func TestAgentStartLockHeld(t *testing.T) {
	tmp := t.TempDir()
	dir := agentDir(tmp)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runBounded(t, krWithAgent(t, filepath.Join(tmp, "vault"), "", tmp, "--timeout", "1s", "agent", "start"))
	if code != 4 || !strings.Contains(stderr, "context deadline exceeded") || !strings.Contains(stderr, "hint: another process holds the start lock in "+dir) {
		t.Fatalf("kr agent start with the lock held: exit %d, %s; want exit 4 and a hint naming %s", code, stderr, dir)
	}
}

// TestAgentManyClients: 200 reads at once through one agent, with no
// passphrase in their environment, all succeed: a client over the
// agent's connection cap waits for it. (It was reset, and kr called the
// secret's file damaged.) Then 40 idle connections held open to the agent
// do not keep a read out.
func TestAgentManyClients(t *testing.T) {
	if testing.Short() {
		t.Skip("200 processes")
	}
	vault, v := newTestVault(t)
	if err := v.Set(context.Background(), "db/pw", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	run := filepath.Join(tmp, "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	unlock := krWithAgent(t, vault, run, tmp, "unlock", "--ttl", "10m")
	unlock.Env = append(unlock.Env, "KR_PASSPHRASE=pw")
	if _, stderr, code := runBounded(t, unlock); code != 0 {
		t.Fatalf("unlock: exit %d, %s", code, stderr)
	}
	t.Cleanup(func() { runBounded(t, krWithAgent(t, vault, run, tmp, "agent", "stop")) })

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := krWithAgent(t, vault, run, tmp, "--timeout", "60s", "get", "db/pw")
			var out, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil || out.String() != "s3cret" {
				errs <- fmt.Sprintf("%v: %q %s", err, out.String(), strings.TrimSpace(stderr.String()))
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for e := range errs {
		if failed < 5 {
			t.Errorf("get: %s", e)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d reads through the agent failed", failed, n)
	}

	sock := filepath.Join(run, "kr", "agent.sock")
	for range 40 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	out, stderr, code := runBounded(t, krWithAgent(t, vault, run, tmp, "--timeout", "60s", "get", "db/pw"))
	if code != 0 || out != "s3cret" {
		t.Fatalf("get with 40 idle connections open: exit %d, %q, %s", code, out, stderr)
	}
}

// TestAgentLeavesWorkingDirectory: the agent outlives the command that
// started it, so it must not keep that command's working directory (a
// mounted directory would stay busy until the agent exits).
func TestAgentLeavesWorkingDirectory(t *testing.T) {
	base := t.TempDir()
	run := filepath.Join(base, "run")
	work := filepath.Join(base, "work")
	for _, d := range []string{run, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	start := krWithAgent(t, t.TempDir(), run, base, "agent", "start")
	start.Dir = work
	if _, stderr, code := runBounded(t, start); code != 0 {
		t.Fatalf("agent start: exit %d: %s", code, stderr)
	}
	t.Cleanup(func() { runBounded(t, krWithAgent(t, t.TempDir(), run, base, "agent", "stop")) })
	out, stderr, code := runBounded(t, krWithAgent(t, t.TempDir(), run, base, "agent", "status", "--json"))
	if code != 0 {
		t.Fatalf("agent status: exit %d: %s", code, stderr)
	}
	var st struct{ PID int }
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.PID <= 0 {
		t.Fatalf("agent status: %q, %v", out, err)
	}
	// The agent is not dumpable: only root reads its /proc/PID/cwd.
	testenv.Root(t)
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", st.PID))
	if err != nil {
		t.Fatal(err)
	}
	if cwd != "/" {
		t.Fatalf("the agent's working directory is %s, want /", cwd)
	}
}
