package secretservice

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// openTimed opens with the 1 s budget auto-selection gives and checks how
// the failure is classified: ErrUnavailable only when there is no bus or no
// service, DeadlineExceeded (and not ErrUnavailable) when something is there
// but does not answer, which must end at the deadline.
func openTimed(t *testing.T, wantUnavailable bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backends.ProbeTimeout)
	defer cancel()
	start := time.Now()
	b, err := Open(ctx, Options{})
	took := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatalf("Open succeeded, want an error")
	}
	t.Logf("Open failed in %v: %v", took, err)
	if wantUnavailable {
		if !errors.Is(err, backends.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Open: %v, want ErrUnavailable", err)
		}
		// Said by the bus, not by the deadline.
		if took >= backends.ProbeTimeout {
			t.Fatalf("Open took %v to fail", took)
		}
		return
	}
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("Open: %v, want DeadlineExceeded and not ErrUnavailable", err)
	}
	if margin := 500 * time.Millisecond; took > backends.ProbeTimeout+margin {
		t.Fatalf("Open took %v, want the %v deadline (+%v)", took, backends.ProbeTimeout, margin)
	}
}

func TestNoBus(t *testing.T) {
	t.Run("SocketMissing", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-such-bus"))
		openTimed(t, true)
	})
	t.Run("Unset", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		openTimed(t, true)
	})
	t.Run("Autolaunch", func(t *testing.T) {
		// Never start a bus from a CLI: that leaves a daemon behind.
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "autolaunch:")
		openTimed(t, true)
	})
}

// TestSilentBus: a socket that accepts but never speaks is a bus that is
// there and hangs; only ctx ends the handshake, and that is a timeout, not
// "no bus".
func TestSilentBus(t *testing.T) {
	dir := t.TempDir()
	l, err := listenUnix(filepath.Join(dir, "bus"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "bus"))
	openTimed(t, false)
}

func TestNoService(t *testing.T) {
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "nosvc-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	openTimed(t, true)
}

// TestStoppedService: a Secret Service that is on the bus but does not
// answer (a gnome-keyring stopped with SIGSTOP) is present but slow: Open
// fails at its deadline with DeadlineExceeded, never ErrUnavailable, so
// auto-selection reports it instead of writing to another store.
func TestStoppedService(t *testing.T) {
	addr, daemon := privateKeyring(t)
	if err := daemon.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", addr)
	openTimed(t, false)
}

// TestOpenErrors: a service that answers OpenSession wrongly is there and
// failing, not unavailable.
func TestOpenErrors(t *testing.T) {
	for name, c := range map[string]struct {
		dhReply *dbus.Variant
		openErr string
	}{
		"reply not a key": {dhReply: ptr(dbus.MakeVariant("not a key"))},
		"invalid key":     {dhReply: ptr(dbus.MakeVariant([]byte{1}))},
		"failed":          {openErr: "org.freedesktop.DBus.Error.Failed"},
		"no reply":        {openErr: errNoReply},
	} {
		t.Run(name, func(t *testing.T) {
			f, conn := startFake(t)
			f.set(func(f *fakeService) { f.dhReply, f.openErr = c.dhReply, c.openErr })
			b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn})
			if err == nil {
				b.Close()
				t.Fatalf("Open succeeded")
			}
			if errors.Is(err, backends.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Open: %v, want a plain error", err)
			}
			t.Logf("Open: %v", err)
		})
	}
}

// TestClassify: only a missing service or bus is ErrUnavailable; a slow,
// locked or failing one keeps its own meaning.
func TestClassify(t *testing.T) {
	dbusErr := func(name string) error { return dbus.Error{Name: name, Body: []any{"text"}} }
	for _, c := range []struct {
		err         error
		unavailable bool
		also        error
	}{
		{dbusErr(errServiceUnknown), true, nil},
		{dbusErr(errNameHasNoOwner), true, nil},
		{dbusErr(errDisconnected), true, nil},
		{dbus.ErrClosed, true, nil},
		{dbusErr(errNoReply), false, nil},
		{dbusErr("org.freedesktop.DBus.Error.Failed"), false, nil},
		{dbusErr(errIsLocked), false, backends.ErrLocked},
		{context.DeadlineExceeded, false, context.DeadlineExceeded},
		{context.Canceled, false, context.Canceled},
	} {
		err := classify("call", c.err)
		if errors.Is(err, backends.ErrUnavailable) != c.unavailable {
			t.Errorf("classify(%v) = %v, want ErrUnavailable %v", c.err, err, c.unavailable)
		}
		if c.also != nil && !errors.Is(err, c.also) {
			t.Errorf("classify(%v) = %v, want %v", c.err, err, c.also)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestLocked locks the collection on a keyring of the test's own: with no
// prompter on the bus, every call ends with ErrLocked (or ErrCanceled if the
// service dismisses the prompt itself) by the 2 s deadline, never a hang.
func TestLocked(t *testing.T) {
	addr, _ := privateKeyring(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn, Service: freshService(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := testContext(t, 10*time.Second)
	if err := b.Set(ctx, "locked/item", []byte("v")); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".Lock", []dbus.ObjectPath{loginCollection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if info, err := b.Info(ctx); err != nil || !info.Locked {
		t.Fatalf("Info after Lock = %+v, %v; want locked", info, err)
	}

	// Has answers from the search, locked or not, without prompting.
	if has, err := b.Has(ctx, "locked/item"); err != nil || !has {
		t.Fatalf("Has on a locked collection = %v, %v; want true", has, err)
	}
	if has, err := b.Has(ctx, "locked/absent"); err != nil || has {
		t.Fatalf("Has(absent) on a locked collection = %v, %v; want false", has, err)
	}

	ops := map[string]func(context.Context) error{
		"Get":    func(c context.Context) error { _, err := b.Get(c, "locked/item"); return err },
		"Set":    func(c context.Context) error { return b.Set(c, "locked/new", []byte("v")) },
		"Delete": func(c context.Context) error { return b.Delete(c, "locked/item") },
		"List":   func(c context.Context) error { _, err := b.List(c, ""); return err },
	}
	for _, name := range []string{"Get", "Set", "Delete", "List"} {
		t.Run(name, func(t *testing.T) {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			start := time.Now()
			err := ops[name](c)
			took := time.Since(start)
			if !errors.Is(err, backends.ErrLocked) && !errors.Is(err, backends.ErrCanceled) {
				t.Fatalf("%s on a locked collection: %v, want ErrLocked or ErrCanceled", name, err)
			}
			if took > 5*time.Second {
				t.Fatalf("%s took %v", name, took)
			}
			t.Logf("%s: %v after %v", name, err, took)
		})
	}
}

// TestLoginFallback: with no "default" alias, kr writes to the login
// collection.
func TestLoginFallback(t *testing.T) {
	addr, _ := privateKeyring(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := testContext(t, 10*time.Second)
	if err := conn.Object(busName, servicePath).CallWithContext(ctx, ifaceService+".SetAlias", 0, "default", noObject).Err; err != nil {
		t.Fatalf("remove the default alias: %v", err)
	}
	b, err := Open(ctx, Options{Conn: conn, Service: freshService(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var alias dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".ReadAlias", "default").Store(&alias); err != nil || alias != noObject {
		t.Fatalf("default alias = %q, %v; want none", alias, err)
	}
	if err := b.Set(ctx, "fallback", []byte("v")); err != nil {
		t.Fatal(err)
	}
	info, err := b.Info(ctx)
	if err != nil || info.Collection != loginCollection {
		t.Fatalf("Info = %+v, %v; want the login collection", info, err)
	}
	if got, err := b.Get(ctx, "fallback"); err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}
