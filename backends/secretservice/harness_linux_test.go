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
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"github.com/kr-keyring/kr/internal/testenv"
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
	keyring *child // the shared daemon, watched so that its death is named
	spawner *spawner
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
	// go-keyring's first message on its connection is OpenSession, which can
	// abort gnome-keyring (see Open) and with it the shared test daemon. It
	// uses godbus's shared session connection, so a call on that one first
	// registers the client.
	if conn, err := dbus.SessionBus(); err == nil {
		var coll dbus.ObjectPath
		_ = conn.Object(busName, servicePath).Call(ifaceService+".ReadAlias", 0, "default").Store(&coll)
	}
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
	env.spawner = newSpawner()
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
	keyring, err := startKeyring(filepath.Join(dir, "main"), addr)
	if err != nil {
		env.missing = "start gnome-keyring-daemon: " + err.Error()
		return m.Run()
	}
	defer keyring.stop()
	env.addr, env.keyring = addr, keyring
	return m.Run()
}

// needDaemon skips (or fails, in CI) a test that needs the real daemon, and
// fails every one once the shared daemon has died, saying how.
func needDaemon(t testing.TB) {
	t.Helper()
	if env.missing == "" {
		if err := env.keyring.died(); err != nil {
			t.Fatal(err)
		}
		return
	}
	testenv.Skip(t, env.missing)
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

// spawner starts the tests' children from one goroutine locked to its OS
// thread for the life of the test binary. Pdeathsig is tied to the thread
// that forked the child, not to the process (go.dev/issue/27505): a child
// started from an ordinary goroutine is SIGKILLed whenever the Go runtime
// ends that thread, which it does when a goroutine locked to it returns
// (TestPdeathsigFollowsThread). That was the first suspect when the shared
// gnome-keyring died mid-run; the daemon had aborted on its own (see Open),
// but nothing in the tests now depends on which thread runs what.
type spawner struct{ requests chan spawnRequest }

type spawnRequest struct {
	cmd     *exec.Cmd
	started chan error
}

func newSpawner() *spawner {
	s := &spawner{requests: make(chan spawnRequest)}
	go func() {
		// Never unlocked, and the loop never ends: the thread lives as long
		// as the process.
		runtime.LockOSThread()
		for r := range s.requests {
			r.started <- r.cmd.Start()
		}
	}()
	return s
}

// child is a started process, watched: exited is closed when it ends.
type child struct {
	cmd      *exec.Cmd
	name     string
	stderr   *tailBuffer
	exited   chan struct{}
	err      error // how it ended, once exited is closed
	stopping atomic.Bool
}

// startChild starts cmd (with childAttrs) through env.spawner and watches
// it. Its stderr, unless cmd sets one, is kept for died's message.
func startChild(cmd *exec.Cmd) (*child, error) {
	cmd.SysProcAttr = childAttrs()
	c := &child{cmd: cmd, name: filepath.Base(cmd.Path), stderr: &tailBuffer{}, exited: make(chan struct{})}
	if cmd.Stderr == nil {
		cmd.Stderr = c.stderr
	}
	started := make(chan error, 1)
	env.spawner.requests <- spawnRequest{cmd, started}
	if err := <-started; err != nil {
		return nil, err
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// stop kills the child and waits for it.
func (c *child) stop() {
	c.stopping.Store(true)
	_ = c.cmd.Process.Kill()
	<-c.exited
}

// died says how the child ended if it ended without stop.
func (c *child) died() error {
	select {
	case <-c.exited:
	default:
		return nil
	}
	if c.stopping.Load() {
		return nil
	}
	return fmt.Errorf("%s (pid %d) exited during the run: %v; its stderr ends:\n%s", c.name, c.cmd.Process.Pid, c.err, c.stderr)
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - 4096; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
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
	// Its only chatter is about fd limits it may not raise here.
	cmd.Stderr = io.Discard
	out, w, err := os.Pipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stdout = w
	bus, err := startChild(cmd)
	w.Close()
	if err != nil {
		out.Close()
		return "", nil, err
	}
	line := make(chan string, 1)
	go func() {
		defer out.Close()
		r := bufio.NewReader(out)
		s, _ := r.ReadString('\n')
		line <- strings.TrimSpace(s)
		// Drained until it exits, so it never writes to a closed pipe.
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			bus.stop()
			return "", nil, fmt.Errorf("dbus-daemon printed no address (%v)", bus.died())
		}
		return addr, bus.stop, nil
	case <-time.After(10 * time.Second):
		bus.stop()
		return "", nil, errors.New("dbus-daemon printed no address within 10s")
	}
}

// startKeyring starts gnome-keyring-daemon's secrets component on the bus
// at addr, with a login keyring unlocked by a throwaway password, and waits
// until it owns org.freedesktop.secrets.
func startKeyring(root, addr string) (*child, error) {
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+addr)
	for k, v := range privateDirs(root) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader("test-password")
	cmd.Stdout = io.Discard
	keyring, err := startChild(cmd)
	if err != nil {
		return nil, err
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		keyring.stop()
		return nil, err
	}
	defer conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var has bool
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&has)
		cancel()
		if err == nil && has {
			return keyring, nil
		}
		if err := keyring.died(); err != nil {
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	keyring.stop()
	return nil, errors.New("gnome-keyring-daemon did not claim org.freedesktop.secrets within 15s")
}

// privateKeyring starts a second bus and keyring of the test's own, for
// tests that lock, rearrange or stop the store.
func privateKeyring(t *testing.T) (string, *child) {
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
	keyring, err := startKeyring(root, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keyring.stop)
	return addr, keyring
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

// TestPdeathsigFollowsThread shows why children start through the spawner:
// with Pdeathsig, a child started from a goroutine locked to its thread is
// killed when that goroutine returns and takes the thread with it, while a
// child the spawner started from the same goroutine lives on.
func TestPdeathsigFollowsThread(t *testing.T) {
	direct := exec.Command("sleep", "60")
	direct.SysProcAttr = childAttrs()
	spawned := exec.Command("cat")
	in, err := spawned.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := spawned.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var cat *child
	var errs [2]error
	onEndingThread(func() {
		errs[0] = direct.Start()
		cat, errs[1] = startChild(spawned)
	})
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	defer cat.stop()
	err = direct.Wait()
	if ws, ok := direct.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("a child started from a thread that ended: %v, want killed by its parent-death signal", err)
	}
	// The kernel signals all the thread's children as it ends, so a cat that
	// was one of them would be gone by now, or die before it can answer.
	if _, err := io.WriteString(in, "still here\n"); err != nil {
		t.Fatalf("write to the spawner's child: %v (%v)", err, cat.died())
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "still here\n" {
		t.Fatalf("the spawner's child answered %q, %v (%v)", line, err, cat.died())
	}
}

// onEndingThread runs fn on a goroutine locked to an OS thread that ends
// when fn returns. Go never ends the main thread (it parks it instead), so
// if the goroutine lands there, it is held and another one runs fn.
func onEndingThread(fn func()) {
	var held []chan struct{}
	defer func() {
		for _, release := range held {
			close(release)
		}
	}()
	for {
		ran := make(chan bool)
		release := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if syscall.Gettid() == os.Getpid() {
				ran <- false
				<-release
				runtime.UnlockOSThread()
				return
			}
			fn()
			ran <- true
			// Returning while locked ends the thread.
		}()
		if <-ran {
			return
		}
		held = append(held, release)
	}
}
