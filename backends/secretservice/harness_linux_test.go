package secretservice

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// The tests run against a real gnome-keyring-daemon on a private bus that
// TestMain starts and kills. HOME and the XDG directories point into a
// temporary directory so the user's own keyring is never touched, and every
// child dies with the test binary (Pdeathsig) even if it is killed.

// harness is the environment TestMain prepared; missing explains why the
// real-daemon tests cannot run.
type harness struct {
	dir     string
	addr    string
	missing string
}

var env harness // written once by TestMain before any test runs

func TestMain(m *testing.M) {
	if mode := os.Getenv("KR_SS_TEST_GOKEYRING"); mode != "" {
		os.Exit(goKeyringHelper(mode))
	}
	os.Exit(runWithDaemon(m))
}

// goKeyringHelper makes the test binary a zalando/go-keyring client, a
// separate process speaking go-keyring's own D-Bus code: get prints the
// value, set stores stdin.
func goKeyringHelper(mode string) int {
	service, user := os.Getenv("KR_SS_TEST_SERVICE"), os.Getenv("KR_SS_TEST_USER")
	switch mode {
	case "get":
		v, err := keyring.Get(service, user)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-keyring get:", err)
			return 1
		}
		fmt.Print(v)
		return 0
	case "set":
		v, err := io.ReadAll(os.Stdin)
		if err == nil {
			err = keyring.Set(service, user, string(v))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-keyring set:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown mode", mode)
	return 2
}

func runWithDaemon(m *testing.M) int {
	for _, tool := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			env.missing = tool + " is not installed (Debian: dbus, gnome-keyring)"
			return m.Run()
		}
	}
	dir, err := os.MkdirTemp("", "kr-ss-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	env.dir = dir
	// Everything this process and its children (secret-tool, python,
	// go-keyring) do lands in the temporary home and on the private bus.
	for k, v := range privateDirs(filepath.Join(dir, "main")) {
		os.Setenv(k, v)
	}
	addr, stopBus, err := startBus(filepath.Join(dir, "main"))
	if err != nil {
		env.missing = "start dbus-daemon: " + err.Error()
		return m.Run()
	}
	defer stopBus()
	os.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	_, stopKeyring, err := startKeyring(filepath.Join(dir, "main"), addr)
	if err != nil {
		env.missing = "start gnome-keyring-daemon: " + err.Error()
		return m.Run()
	}
	defer stopKeyring()
	env.addr = addr
	return m.Run()
}

// needDaemon skips (or fails, in CI) a test that needs the real daemon.
func needDaemon(t testing.TB) {
	t.Helper()
	if env.missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("the Secret Service tests cannot run in CI: %s", env.missing)
	}
	t.Skipf("skipping: %s", env.missing)
}

func privateDirs(root string) map[string]string {
	return map[string]string{
		"HOME":            filepath.Join(root, "home"),
		"XDG_DATA_HOME":   filepath.Join(root, "home/.local/share"),
		"XDG_CONFIG_HOME": filepath.Join(root, "home/.config"),
		"XDG_CACHE_HOME":  filepath.Join(root, "home/.cache"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
	}
}

// busConfig is a session bus with no service directories, so nothing is
// activated behind the test's back (a stock session bus would start
// gnome-keyring on the first call), and with monitoring allowed.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

func childAttrs() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}

func stopProcess(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
}

// startBus starts a private dbus-daemon under root and returns its address.
func startBus(root string) (string, func(), error) {
	for _, d := range privateDirs(root) {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", nil, err
		}
	}
	conf := filepath.Join(root, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, filepath.Join(root, "bus")), 0o600); err != nil {
		return "", nil, err
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	cmd.SysProcAttr = childAttrs()
	// Its only chatter is about fd limits it may not raise here.
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			stopProcess(cmd)
			return "", nil, errors.New("dbus-daemon printed no address")
		}
		return addr, func() { stopProcess(cmd) }, nil
	case <-time.After(10 * time.Second):
		stopProcess(cmd)
		return "", nil, errors.New("dbus-daemon printed no address within 10s")
	}
}

// startKeyring starts gnome-keyring-daemon's secrets component on the bus
// at addr, with a login keyring unlocked by a throwaway password, and waits
// until it owns org.freedesktop.secrets.
func startKeyring(root, addr string) (*os.Process, func(), error) {
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.SysProcAttr = childAttrs()
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr)
	for k, v := range privateDirs(root) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader("test-password")
	cmd.Stdout = io.Discard
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { stopProcess(cmd) }
	conn, err := dbus.Connect(addr)
	if err != nil {
		stop()
		return nil, nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var has bool
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&has)
		cancel()
		if err == nil && has {
			return cmd.Process, stop, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return nil, nil, errors.New("gnome-keyring-daemon did not claim org.freedesktop.secrets within 15s")
}

// privateKeyring starts a second bus and keyring of the test's own, for
// tests that lock, rearrange or stop the store.
func privateKeyring(t *testing.T) (string, *os.Process) {
	t.Helper()
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "priv-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stopBus, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopBus)
	daemon, stopKeyring, err := startKeyring(root, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopKeyring)
	return addr, daemon
}

// freshService is a service attribute no other test or run uses.
func freshService(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "kr-test-" + hex.EncodeToString(b[:])
}

func testContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// openTest opens a Backend on the shared test keyring with a fresh service.
func openTest(t testing.TB, opts Options) *Backend {
	t.Helper()
	needDaemon(t)
	if opts.Service == "" {
		opts.Service = freshService(t)
	}
	b, err := Open(testContext(t, 10*time.Second), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// listenUnix is a socket that accepts connections and never answers.
func listenUnix(path string) (net.Listener, error) { return net.Listen("unix", path) }
