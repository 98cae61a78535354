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
	"github.com/kr-keyring/kr/internal/testenv"
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
// the test's directories. Saving is off: 2.7.4 serialises the database on
// a worker thread while its main loop keeps serving D-Bus calls that change
// it, and a write arriving during an autosave crashes it (SIGSEGV in
// QUuid::toRfc4122 on the "Thread (pooled)" thread) in about one run of
// the conformance suite in ten.
const kpxIni = `[General]
ConfigVersion=2
AutoSaveAfterEveryChange=false
AutoSaveOnExit=true
AutoReloadOnChange=false
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
	addr    string
	db      string
	version [3]int
	// exited is closed when KeePassXC has exited, with exitErr set.
	exited  chan struct{}
	exitErr error
	// conn is the harness's own connection, for locking and for watching
	// the collection; tests open backends on connections of their own.
	conn *dbus.Conn
}

// needKeePassXC skips (or fails, in CI) a test that needs KeePassXC.
func needKeePassXC(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"keepassxc", "keepassxc-cli", "dbus-daemon"} {
		testenv.Tool(t, tool, "keepassxc, dbus")
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
	if k.version, err = keepassxcVersion(childEnv); err != nil {
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
	k.exited = make(chan struct{})
	go func() { k.exitErr = cmd.Wait(); close(k.exited) }()
	t.Cleanup(func() {
		// The whole group: KeePassXC's helpers go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
		if t.Failed() {
			out, _ := os.ReadFile(log)
			t.Logf("keepassxc said:\n%s", out)
		}
	})

	if k.conn, err = dbus.Connect(k.addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.conn.Close() })
	// KeePassXC claims org.freedesktop.secrets before it has opened the
	// database.
	k.waitLocked(t, false, 30*time.Second)
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

// keepassxcVersion asks keepassxc-cli, which is cheaper to start than the
// GUI and comes from the same package.
func keepassxcVersion(env []string) ([3]int, error) {
	var v [3]int
	cmd := exec.Command("keepassxc-cli", "--version")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return v, fmt.Errorf("keepassxc-cli --version: %w", err)
	}
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%d.%d.%d", &v[0], &v[1], &v[2]); err != nil {
		return v, fmt.Errorf("keepassxc-cli --version said %q: %w", out, err)
	}
	return v, nil
}

// waitLocked polls until the default alias names a collection whose
// Locked is want. Locking, unlocking and startup finish after the calls
// that ask for them return.
func (k *keepassxc) waitLocked(t *testing.T, want bool, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		locked, err := k.locked(ctx)
		cancel()
		if err == nil && locked == want {
			return
		}
		last = err
		select {
		case <-k.exited:
			t.Fatalf("keepassxc exited: %v", k.exitErr)
		case <-deadline:
			t.Fatalf("the collection's Locked did not become %v within %v (last error: %v)", want, limit, last)
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

// open returns a backend with a fresh service.
func (k *keepassxc) open(t *testing.T) *Backend {
	t.Helper()
	return k.openService(t, freshService(t))
}

// openService returns a backend for service on a bus connection of its
// own: to KeePassXC a new client, as each kr process is.
func (k *keepassxc) openService(t *testing.T, service string) *Backend {
	t.Helper()
	conn, err := dbus.Connect(k.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b, err := Open(testContext(t, 10*time.Second), Options{Service: service, Conn: conn})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

const mainWindow = "org.keepassxc.KeePassXC.MainWindow"

// lock locks the database the way the user's screen lock or idle timer
// would, and waits until the collection says so.
func (k *keepassxc) lock(t *testing.T) {
	t.Helper()
	// Returns once KeePassXC has saved the database (AutoSaveOnExit):
	// without that it would ask whether to save, and never answer.
	if err := k.conn.Object(mainWindow, "/keepassxc").CallWithContext(testContext(t, 30*time.Second), mainWindow+".lockAllDatabases", 0).Err; err != nil {
		t.Fatalf("lockAllDatabases: %v", err)
	}
	// KeePassXC refuses silently while a modal dialog is open.
	k.waitLocked(t, true, 10*time.Second)
}

// unlock unlocks the database with its password, as the user would type it
// into KeePassXC's window.
func (k *keepassxc) unlock(t *testing.T) {
	t.Helper()
	if err := k.conn.Object(mainWindow, "/keepassxc").CallWithContext(testContext(t, 30*time.Second), mainWindow+".openDatabase", 0, k.db, kpxPassword).Err; err != nil {
		t.Fatalf("openDatabase: %v", err)
	}
	k.waitLocked(t, false, 30*time.Second)
}

// bounded runs call under a context that ends after budget and fails the
// test if call does not return well after that: kr must give up on a prompt
// nobody answers by itself.
func bounded(t *testing.T, budget time.Duration, call func(context.Context) error) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		return err
	case <-time.After(budget + 10*time.Second):
		t.Fatalf("still waiting %v after the context's deadline", 10*time.Second)
		return nil
	}
}

// isExit4: a prompt nobody answers must end as locked (or canceled), which
// the CLI exits 4 for, not as a bare timeout or "not found".
func isExit4(err error) bool {
	return errors.Is(err, backends.ErrLocked) || errors.Is(err, backends.ErrCanceled)
}

func TestKeePassXC(t *testing.T) {
	start := time.Now()
	k := startKeePassXC(t)
	t.Logf("KeePassXC %d.%d.%d ready in %v", k.version[0], k.version[1], k.version[2], time.Since(start).Round(time.Millisecond))

	// Each case runs on one client, so the suite's Overwrite and
	// LargeValue overwrite items their own client created: no dialog even
	// on 2.7.4. OverwriteByAnotherClient covers kr's real use.
	t.Run("Conformance", func(t *testing.T) {
		backendtest.Run(t, func(t *testing.T) backends.Backend { return k.open(t) })
	})

	// KeePassXC resolves placeholders in the passwords it hands out, so a
	// value such as {TITLE} is stored but reads back as something else.
	// kr must not report such a value as stored, and must not leave it
	// behind in place of what was there.
	t.Run("PlaceholderOverExisting", func(t *testing.T) {
		b := k.open(t)
		ctx := testContext(t, 20*time.Second)
		if err := b.Set(ctx, "ph", []byte("old")); err != nil {
			t.Fatal(err)
		}
		// The same client overwrites, so 2.7.4's overwrite dialog (see
		// OverwriteByAnotherClient) is not what refuses it.
		if err := b.Set(ctx, "ph", []byte("{TITLE}")); err == nil {
			got, _ := b.Get(ctx, "ph")
			t.Errorf("Set of {TITLE} over a value succeeded; KeePassXC now returns %q", got)
		}
		reader := k.openService(t, b.service)
		if got, err := reader.Get(ctx, "ph"); err != nil || string(got) != "old" {
			t.Errorf("Get after the refused Set = %q, %v; want the old value", got, err)
		}
		if names, err := reader.List(ctx, ""); err != nil || len(names) != 1 {
			t.Errorf("List = %q, %v; want [ph]", names, err)
		}
	})
	for name, value := range map[string]string{
		// {S:service} is the item's own service attribute.
		"PlaceholderFresh": "a{S:service}b",
		// KeePassXC refuses references outright, but only after it has
		// created the entry (with an empty password).
		"ReferenceFresh": "{REF:P@I:6B72B7E5746573748000000000000001}",
	} {
		t.Run(name, func(t *testing.T) {
			b := k.open(t)
			ctx := testContext(t, 20*time.Second)
			if err := b.Set(ctx, "fresh", []byte(value)); err == nil {
				got, _ := b.Get(ctx, "fresh")
				t.Errorf("Set of %q succeeded; KeePassXC now returns %q", value, got)
			}
			reader := k.openService(t, b.service)
			if got, err := reader.Get(ctx, "fresh"); !errors.Is(err, backends.ErrNotFound) {
				t.Errorf("Get after the refused Set = %q, %v; want ErrNotFound", got, err)
			}
			if names, err := reader.List(ctx, ""); err != nil || len(names) != 0 {
				t.Errorf("List after the refused Set = %q, %v; want none", names, err)
			}
		})
	}

	// kr is a CLI: every run is a new client to KeePassXC, and before 2.7.6
	// KeePassXC asks the user before CreateItem may replace an item the
	// client did not create, whatever ConfirmAccessItem says
	// (keepassxreboot/keepassxc#9255, fixed by #9690).
	t.Run("OverwriteByAnotherClient", func(t *testing.T) {
		first := k.open(t)
		if err := first.Set(testContext(t, 10*time.Second), "token", []byte("old")); err != nil {
			t.Fatal(err)
		}
		second := k.openService(t, first.service)
		err := bounded(t, 2*time.Second, func(ctx context.Context) error {
			return second.Set(ctx, "token", []byte("new"))
		})
		got, gerr := k.openService(t, first.service).Get(testContext(t, 10*time.Second), "token")
		if gerr != nil {
			t.Fatalf("Get after the overwrite: %v", gerr)
		}
		switch {
		case err == nil:
			if string(got) != "new" {
				t.Errorf("overwrite by a second client succeeded, but Get = %q, want new", got)
			}
		case isExit4(err):
			// Nobody answers the dialog in the offscreen window: Set
			// gives up at its deadline and the old value stays.
			t.Logf("overwrite by a second client refused: %v", err)
			if string(got) != "old" {
				t.Errorf("Get after the refused overwrite = %q, want old", got)
			}
		default:
			t.Errorf("overwrite by a second client: %v, want success or ErrLocked/ErrCanceled", err)
		}
		// Dismiss ends 2.7.4's CreateItem prompt but not the access
		// dialog it opened, and KeePassXC does not lock (idle timer,
		// screen lock) while a modal dialog is open: a kr set that timed
		// out would keep the database open until someone clicks the
		// orphaned dialog away. Item.SetSecret on the existing item asks
		// nothing when ConfirmAccessItem is off.
		k.lock(t)
		k.unlock(t)
	})

	// Last: an unlock dialog nobody answered (a search held by
	// UnlockBeforeSearch, an Unlock prompt kr dismissed) stays open after
	// the database is unlocked from the main window, and while it is open
	// KeePassXC no longer locks.
	t.Run("Locked", func(t *testing.T) {
		b := k.open(t)
		if err := b.Set(testContext(t, 10*time.Second), "there", []byte("v")); err != nil {
			t.Fatal(err)
		}
		k.lock(t)
		// A new kr run against the locked database. KeePassXC 2.7.4
		// (UnlockBeforeSearch, on by default) holds SearchItems until the
		// user unlocks and answers it with no items if they cancel; with
		// the setting off it answers no items at once. Neither is "not
		// found".
		reader := k.openService(t, b.service)
		var got []byte
		err := bounded(t, time.Second, func(ctx context.Context) (err error) {
			got, err = reader.Get(ctx, "there")
			return err
		})
		if !isExit4(err) {
			t.Errorf("Get on a locked database = %q, %v; want ErrLocked or ErrCanceled", got, err)
		}
		var names []string
		err = bounded(t, time.Second, func(ctx context.Context) (err error) {
			names, err = reader.List(ctx, "")
			return err
		})
		if !isExit4(err) || len(names) != 0 {
			t.Errorf("List on a locked database = %q, %v; want ErrLocked or ErrCanceled", names, err)
		}
		k.unlock(t)
		if got, err := reader.Get(testContext(t, 10*time.Second), "there"); err != nil || string(got) != "v" {
			t.Errorf("Get after unlocking = %q, %v; want v", got, err)
		}
	})
}
