package secretservice

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
)

// KeePassXC is the second Secret Service provider kr is proven against
// (Debian 12 ships 2.7.4). One KeePassXC serves every test below: it is
// started by TestKeePassXC, not TestMain, so a run that selects no KeePassXC
// test pays nothing, and it is stopped by that test's cleanup, so nothing
// outlives the run. It runs with Qt's offscreen platform (no X server), on a
// private bus with no service directories, with HOME and XDG_* in a
// temporary directory, and with a database generated from
// testdata/keepassxc.xml.

// kpxPassword opens the throwaway database generated for each run.
const kpxPassword = "kr-test-password"

// kpxIni turns the Secret Service on without the confirmations a user
// would click through, and keeps KeePassXC from touching anything outside
// the test's directories.
const kpxIni = `[General]
ConfigVersion=2
SingleInstance=false
RememberLastDatabases=false
RememberLastKeyFiles=false
OpenPreviousDatabasesOnStartup=false

[GUI]
CheckForUpdates=false
ShowTrayIcon=false
MinimizeOnStartup=false

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
`

// keepassxc is a running KeePassXC and the private bus it serves on.
type keepassxc struct {
	addr string
	db   string
	// conn is the harness's own connection, for locking and for watching
	// the collection; tests open backends on connections of their own.
	conn *dbus.Conn
}

// needKeePassXC skips (or fails, in CI) a test that needs KeePassXC.
func needKeePassXC(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"keepassxc", "keepassxc-cli", "dbus-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed (Debian: keepassxc, dbus)"
			if os.Getenv("CI") == "true" {
				t.Fatalf("the KeePassXC tests cannot run in CI: %s", msg)
			}
			t.Skipf("skipping: %s", msg)
		}
	}
}

// childThread starts processes from one OS thread that lives until close.
// Pdeathsig fires when the thread that forked a child ends, not the
// process: a child started from an ordinary goroutine dies whenever the Go
// runtime retires that thread (which it does when any goroutine exits
// still locked to it), possibly in the middle of a test.
type childThread struct{ jobs chan func() }

func newChildThread() *childThread {
	c := &childThread{jobs: make(chan func())}
	go func() {
		// Never unlocked: the thread ends with this goroutine, after close,
		// and takes with it (Pdeathsig) any child still alive.
		runtime.LockOSThread()
		for job := range c.jobs {
			job()
		}
	}()
	return c
}

func (c *childThread) do(f func()) {
	done := make(chan struct{})
	c.jobs <- func() { f(); close(done) }
	<-done
}

func (c *childThread) close() { close(c.jobs) }

// startKeePassXC starts KeePassXC for t and its subtests and waits until
// its database is unlocked and exposed on the bus.
func startKeePassXC(t *testing.T) *keepassxc {
	t.Helper()
	needKeePassXC(t)
	// Not t.TempDir: the bus socket lives here, and a socket path must
	// stay under 108 bytes.
	root, err := os.MkdirTemp("", "kr-kpx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	dirs := privateDirs(root)
	childEnv := os.Environ()
	for k, v := range dirs {
		childEnv = append(childEnv, k+"="+v)
	}
	k := &keepassxc{db: filepath.Join(root, "kr.kdbx")}
	if err := createDatabase(k.db, childEnv); err != nil {
		t.Fatal(err)
	}
	ini := filepath.Join(dirs["XDG_CONFIG_HOME"], "keepassxc", "keepassxc.ini")
	if err := os.MkdirAll(filepath.Dir(ini), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ini, []byte(kpxIni), 0o600); err != nil {
		t.Fatal(err)
	}

	threads := newChildThread()
	t.Cleanup(threads.close)
	var stopBus func()
	threads.do(func() { k.addr, stopBus, err = startBus(root) })
	if err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(stopBus)

	log := filepath.Join(root, "keepassxc.log")
	logFile, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command("keepassxc", "--config", ini, "--localconfig", filepath.Join(root, "keepassxc-local.ini"), "--pw-stdin", k.db)
	cmd.Env = append(childEnv, "DBUS_SESSION_BUS_ADDRESS="+k.addr, "QT_QPA_PLATFORM=offscreen", "DISPLAY=", "WAYLAND_DISPLAY=")
	cmd.Stdin = strings.NewReader(kpxPassword + "\n")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childAttrs()
	threads.do(func() { err = cmd.Start() })
	if err != nil {
		t.Fatalf("start keepassxc: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// The whole group: KeePassXC's helpers go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			out, _ := os.ReadFile(log)
			t.Logf("keepassxc said:\n%s", out)
		}
	})

	if k.conn, err = dbus.Connect(k.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.conn.Close() })
	if err := k.waitUnlocked(exited, 30*time.Second); err != nil {
		out, _ := os.ReadFile(log)
		t.Fatalf("%v; keepassxc said:\n%s", err, out)
	}
	return k
}

// createDatabase imports the fixture into a new database at path.
func createDatabase(path string, env []string) error {
	cmd := exec.Command("keepassxc-cli", "import", "--quiet", "--set-password", filepath.Join("testdata", "keepassxc.xml"), path)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(kpxPassword + "\n" + kpxPassword + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("keepassxc-cli import: %v: %s", err, out)
	}
	return nil
}

// waitUnlocked polls until the default alias names an unlocked collection:
// KeePassXC claims org.freedesktop.secrets before it has opened the database.
func (k *keepassxc) waitUnlocked(exited <-chan error, limit time.Duration) error {
	deadline := time.After(limit)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		locked, err := k.locked(ctx)
		cancel()
		if err == nil && !locked {
			return nil
		}
		last = err
		select {
		case err := <-exited:
			return fmt.Errorf("keepassxc exited during startup: %v", err)
		case <-deadline:
			return fmt.Errorf("keepassxc did not expose an unlocked collection within %v (last error: %v)", limit, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// locked reports whether the default collection is locked.
func (k *keepassxc) locked(ctx context.Context) (bool, error) {
	var coll dbus.ObjectPath
	if err := k.conn.Object(busName, servicePath).CallWithContext(ctx, ifaceService+".ReadAlias", 0, "default").Store(&coll); err != nil {
		return false, err
	}
	if coll == noObject || coll == "" {
		return false, errors.New("no default collection yet")
	}
	var v dbus.Variant
	if err := k.conn.Object(busName, coll).CallWithContext(ctx, ifaceProperties+".Get", 0, ifaceCollection, "Locked").Store(&v); err != nil {
		return false, err
	}
	locked, _ := v.Value().(bool)
	return locked, nil
}

// open returns a backend with a fresh service on its own bus connection,
// as a separate kr process would have.
func (k *keepassxc) open(t *testing.T) *Backend {
	t.Helper()
	conn, err := dbus.Connect(k.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b, err := Open(testContext(t, 10*time.Second), Options{Service: freshService(t), Conn: conn})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestKeePassXC(t *testing.T) {
	start := time.Now()
	k := startKeePassXC(t)
	t.Logf("KeePassXC ready in %v", time.Since(start).Round(time.Millisecond))

	t.Run("Conformance", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backends.Backend { return k.open(t) })
	})
}
