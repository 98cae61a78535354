package secretservice

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// openTimed opens with the 1 s budget auto-selection gives and reports how
// long the answer took. The bound asserted is generous (5 s) so a busy
// machine does not flake; the figure is logged.
func openTimed(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backends.ProbeTimeout)
	defer cancel()
	start := time.Now()
	b, err := Open(ctx, Options{})
	took := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatalf("Open succeeded, want ErrUnavailable")
	}
	if !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("Open: %v, want ErrUnavailable", err)
	}
	if took > 5*time.Second {
		t.Fatalf("Open took %v to fail", took)
	}
	t.Logf("Open failed in %v: %v", took, err)
}

func TestNoBus(t *testing.T) {
	t.Run("SocketMissing", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-such-bus"))
		openTimed(t)
	})
	t.Run("Unset", func(t *testing.T) {
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
		os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
		openTimed(t)
	})
	t.Run("Autolaunch", func(t *testing.T) {
		// Never start a bus from a CLI: that leaves a daemon behind.
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "autolaunch:")
		openTimed(t)
	})
	t.Run("SilentPeer", func(t *testing.T) {
		// A socket that accepts but never speaks: only ctx ends the handshake.
		dir := t.TempDir()
		l, err := listenUnix(filepath.Join(dir, "bus"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "bus"))
		openTimed(t)
	})
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
	openTimed(t)
}

// TestLocked locks the collection on a keyring of the test's own: with no
// prompter on the bus, every call ends with ErrLocked (or ErrCanceled if the
// service dismisses the prompt itself) by the 2 s deadline, never a hang.
func TestLocked(t *testing.T) {
	addr := privateKeyring(t)
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
	addr := privateKeyring(t)
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
