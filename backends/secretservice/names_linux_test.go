package secretservice

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// namesFake is a Secret Service with unlocked and locked items whose
// Unlock hands out a prompt, counting every Unlock call.
type namesFake struct {
	mu      sync.Mutex
	unlocks int
}

const (
	namesOpenItem   = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/1")
	namesOtherItem  = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/2")
	namesBadItem    = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/3")
	namesGoneItem   = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/4")
	namesLockedItem = dbus.ObjectPath("/org/freedesktop/secrets/collection/locked/1")
)

func (f *namesFake) SearchItems(map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	return []dbus.ObjectPath{namesOpenItem, namesOtherItem, namesBadItem, namesGoneItem}, []dbus.ObjectPath{namesLockedItem}, nil
}

func (f *namesFake) Unlock([]dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocks++
	return []dbus.ObjectPath{}, dbus.ObjectPath("/org/freedesktop/secrets/prompt/names"), nil
}

// namesFakeItem answers Properties.Get with its attributes, locked or not:
// a lister that read a locked item would list it.
type namesFakeItem struct{ attrs map[string]string }

func (i namesFakeItem) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	return dbus.MakeVariant(i.attrs), nil
}

// TestNameListerNeverUnlocks: only unlocked items are listed (valid names
// under the prefix), a locked one is not, and nothing calls Unlock.
func TestNameListerNeverUnlocks(t *testing.T) {
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "names-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	server, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	f := &namesFake{}
	if err := server.Export(f, servicePath, ifaceService); err != nil {
		t.Fatal(err)
	}
	for path, user := range map[dbus.ObjectPath]string{
		namesOpenItem: "db/prod", namesOtherItem: "api/token", namesBadItem: "db/bad name", namesLockedItem: "db/locked",
	} {
		item := namesFakeItem{map[string]string{attrService: "svc", attrUsername: user}}
		if err := server.Export(item, path, ifaceProperties); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := server.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })

	ctx := testContext(t, 5*time.Second)
	l, err := OpenNameLister(ctx, Options{Conn: client, Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.List(ctx, "db/")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"db/prod"}; !slices.Equal(got, want) {
		t.Errorf("List(db/) = %q, want %q", got, want)
	}
	if got, err := l.List(ctx, ""); err != nil || !slices.Equal(got, []string{"api/token", "db/prod"}) {
		t.Errorf("List() = %q, %v; want [api/token db/prod]", got, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unlocks != 0 {
		t.Errorf("the lister called Unlock %d times", f.unlocks)
	}
}

// TestNameListerActivatesNothing: a Secret Service the bus could start
// (a service file) is there for selection but not started: the lister
// lists nothing and the service's program never runs. Open, the control,
// does start it.
func TestNameListerActivatesNothing(t *testing.T) {
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "activate-")
	if err != nil {
		t.Fatal(err)
	}
	services := filepath.Join(root, "services")
	if err := os.MkdirAll(services, 0o700); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(root, "activated")
	// The program leaves a mark and fails, so the bus answers the
	// activating call at once.
	unit := fmt.Sprintf("[D-BUS Service]\nName=%s\nExec=/bin/sh -c 'echo > %s; exit 1'\n", busName, marker)
	if err := os.WriteFile(filepath.Join(services, busName+".service"), []byte(unit), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := startActivatingBus(t, root, services)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := testContext(t, 10*time.Second)

	l, err := OpenNameLister(ctx, Options{Conn: conn})
	if err != nil {
		t.Fatalf("OpenNameLister with an activatable service: %v", err)
	}
	defer l.Close()
	if got, err := l.List(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("List = %q, %v; want nothing", got, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lister activated the service (marker: %v)", err)
	}
	start := time.Now()
	b, err := Open(ctx, Options{Conn: conn})
	t.Logf("control Open: %v after %v", err, time.Since(start))
	if err == nil {
		b.Close()
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("control: Open did not activate the service either, so the test proves nothing: %v", err)
	}
}

// TestNameListerNoService: a bus without a Secret Service is unavailable,
// as for Open, so that auto selection moves on to the file vault.
func TestNameListerNoService(t *testing.T) {
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "empty-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = OpenNameLister(testContext(t, 5*time.Second), Options{Conn: conn})
	if !errors.Is(err, backends.ErrUnavailable) {
		t.Fatalf("OpenNameLister on a bus without the service: %v, want ErrUnavailable", err)
	}
}

// startActivatingBus is startBus with a service directory.
func startActivatingBus(t *testing.T, root, services string) string {
	t.Helper()
	conf := filepath.Join(root, "bus.conf")
	withServices := strings.Replace(busConfig, "<auth>", "<servicedir>"+services+"</servicedir>\n  <auth>", 1)
	if err := os.WriteFile(conf, fmt.Appendf(nil, withServices, filepath.Join(root, "bus")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--print-address=1")
	cmd.SysProcAttr = childAttrs()
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopProcess(cmd) })
	// dbus-daemon prints its address once it listens; reading blocks until
	// then, and ends with EOF if it dies first.
	addr, _ := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	if addr = strings.TrimSpace(addr); addr == "" {
		t.Fatal("dbus-daemon printed no address")
	}
	return addr
}
