package secretservice

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/internal/testenv"
)

// KWallet (kwalletd5, Debian 12: 5.103) is the third Secret Service
// provider, and the strictest about the DH exchange: it refuses a client
// public key that is not exactly 128 bytes. A new wallet needs a password
// dialog, so the test starts kwalletd5 as pam_kwallet5 does on login, with
// a 56-byte password hash handed to its pamOpen, which creates the wallet
// and opens it. kwalletd exposes on the bus only the wallets that existed
// when it started, so it is started twice with the same hash: once to
// create the wallet, once to serve it.
// Its DH needs libqca-qt5-2-plugins.

type kwallet struct {
	addr string
	dirs map[string]string
	hash []byte
}

func needKWallet(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"kwalletd5", "dbus-daemon"} {
		testenv.Tool(t, tool, "libkf5wallet-bin, libqca-qt5-2-plugins, dbus")
	}
}

func startKWallet(t *testing.T) *kwallet {
	t.Helper()
	needKWallet(t)
	root, err := os.MkdirTemp("", "kr-kw-") // short: the bus socket lives here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	k := &kwallet{dirs: privateDirs(root), hash: make([]byte, 56)}
	if _, err := rand.Read(k.hash); err != nil {
		t.Fatal(err)
	}
	addr, stopBus, err := startBus(root)
	if err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(stopBus)
	k.addr = addr
	rc := filepath.Join(k.dirs["XDG_CONFIG_HOME"], "kwalletrc")
	if err := os.WriteFile(rc, []byte("[Wallet]\nEnabled=true\nFirst Use=false\nUse One Wallet=true\nClose When Idle=false\nLeave Open=true\n\n[org.freedesktop.secrets]\napiEnabled=true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	// The wallet file exists after the first start, which creates it.
	first := k.start(t, conn, true)
	first.stop()
	second := k.start(t, conn, false)
	t.Cleanup(second.stop)
	var state string
	defer func() {
		if t.Failed() {
			t.Logf("last seen: %s", state)
		}
	}()
	waitFor(t, "kwalletd5 to serve its wallet", func() bool {
		if err := second.died(); err != nil {
			t.Fatal(err)
		}
		var coll dbus.ObjectPath
		err := conn.Object(busName, servicePath).Call(ifaceService+".ReadAlias", 0, "default").Store(&coll)
		if err != nil || coll == "/" {
			state = fmt.Sprintf("default collection %q, %v", coll, err)
			return false
		}
		// It says Locked until a client unlocks it, which the open wallet
		// allows without a prompt.
		return true
	})
	return k
}

// start runs kwalletd5 and opens (creating it if needed) its wallet with
// k.hash through pamOpen, the call pam_kwallet5's hand-over ends in.
func (k *kwallet) start(t *testing.T, conn *dbus.Conn, closeAfter bool) *child {
	t.Helper()
	cmd := exec.Command("kwalletd5")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+k.addr, "QT_QPA_PLATFORM=offscreen", "DISPLAY=", "WAYLAND_DISPLAY=")
	for name, v := range k.dirs {
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	cmd.Stdout = io.Discard
	c, err := startChild(cmd)
	if err != nil {
		t.Fatalf("start kwalletd5: %v", err)
	}
	waitFor(t, "kwalletd5 on the bus", func() bool {
		if err := c.died(); err != nil {
			t.Fatal(err)
		}
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.kwalletd5").Store(&has)
		return err == nil && has
	})
	kw := conn.Object("org.kde.kwalletd5", "/modules/kwalletd5")
	// pamOpen sends no reply.
	if err := kw.Call("org.kde.KWallet.pamOpen", dbus.FlagNoReplyExpected, "kdewallet", k.hash, int32(0)).Err; err != nil {
		c.stop()
		t.Fatalf("kwalletd5 pamOpen: %v", err)
	}
	waitFor(t, "kwalletd5 to open its wallet", func() bool {
		var open bool
		err := kw.Call("org.kde.KWallet.isOpen", 0, "kdewallet").Store(&open)
		return err == nil && open
	})
	if closeAfter {
		// Closing writes the new wallet to disk.
		var rc int32
		if err := kw.Call("org.kde.KWallet.close", 0, "kdewallet", true).Store(&rc); err != nil || rc != 0 {
			t.Fatalf("kwalletd5 close: %d, %v", rc, err)
		}
	}
	return c
}

// waitFor polls cond until it holds, failing after a minute: a bound for a
// loaded machine, not a timing assumption.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (k *kwallet) open(t *testing.T, ctx context.Context, service string) *Backend {
	t.Helper()
	conn, err := connect(ctx, k.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	b, err := Open(ctx, Options{Conn: conn, Service: service})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestKWallet stores a value in KWallet, then reads it through a session
// whose public key has a zero top byte (refused by KWallet before kr padded
// it) and lists it through many fresh clients, as many `kr ls` would:
// KR_SS_KWALLET_SESSIONS of them (default 50).
func TestKWallet(t *testing.T) {
	k := startKWallet(t)
	ctx := testContext(t, 5*time.Minute)
	service := freshService(t)
	b := k.open(t, ctx, service)
	value := []byte("kwallet value")
	if err := b.Set(ctx, "kw", value); err != nil {
		t.Fatal(err)
	}

	kp, err := newDHKeyPair(bytes.NewReader(shortPublicSeed()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.openSession(ctx, algorithmDH, kp); err != nil {
		t.Fatalf("a session with a 128-byte key whose top byte is zero: %v", err)
	}
	if got, err := b.Get(ctx, "kw"); err != nil || !bytes.Equal(got, value) {
		t.Fatalf("Get through that session = %q, %v", got, err)
	}

	sessions := 50
	if s := os.Getenv("KR_SS_KWALLET_SESSIONS"); s != "" {
		if sessions, err = strconv.Atoi(s); err != nil || sessions < 1 {
			t.Fatalf("KR_SS_KWALLET_SESSIONS=%q is not a positive number", s)
		}
	}
	failed := 0
	for i := range sessions {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		conn, err := connect(cctx, k.addr)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		c, err := Open(cctx, Options{Conn: conn, Service: service})
		var names []string
		if err == nil {
			names, err = c.List(cctx, "")
			_ = c.Close()
		}
		conn.Close()
		cancel()
		if err != nil || len(names) != 1 || names[0] != "kw" {
			failed++
			t.Errorf("client %d: List = %q, %v", i, names, err)
		}
	}
	t.Logf("%d fresh clients listed through KWallet, %d failed", sessions, failed)
}
