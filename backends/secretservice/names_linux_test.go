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

// namesFake is a Secret Service with an unlocked and a locked collection
// that counts the calls which may prompt: Unlock, and Service.SearchItems
// (KeePassXC shows an unlock dialog when every collection is locked).
type namesFake struct {
	mu          sync.Mutex
	collections []dbus.ObjectPath
	unlocks     int
	searches    int
}

const (
	namesOpenColl   = dbus.ObjectPath("/org/freedesktop/secrets/collection/open")
	namesLockedColl = dbus.ObjectPath("/org/freedesktop/secrets/collection/locked")
	namesOpenItem   = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/1")
	namesOtherItem  = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/2")
	namesBadItem    = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/3")
	namesGoneItem   = dbus.ObjectPath("/org/freedesktop/secrets/collection/open/4")
	namesLockedItem = dbus.ObjectPath("/org/freedesktop/secrets/collection/locked/1")
)

func (f *namesFake) SearchItems(map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.searches++
	return []dbus.ObjectPath{namesOpenItem}, []dbus.ObjectPath{namesLockedItem}, nil
}

func (f *namesFake) Unlock([]dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlocks++
	return []dbus.ObjectPath{}, dbus.ObjectPath("/org/freedesktop/secrets/prompt/names"), nil
}

// namesFakeProps answers Properties.Get for the service (Collections).
type namesFakeProps struct{ f *namesFake }

func (p namesFakeProps) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	return dbus.MakeVariant(p.f.collections), nil
}

// namesFakeColl is a collection; a locked one still answers SearchItems,
// as gnome-keyring does, so a lister that searched it would find its item.
type namesFakeColl struct {
	locked bool
	items  []dbus.ObjectPath
}

func (c namesFakeColl) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	return dbus.MakeVariant(c.locked), nil
}

func (c namesFakeColl) SearchItems(map[string]string) ([]dbus.ObjectPath, *dbus.Error) {
	return c.items, nil
}

// namesFakeItem answers Properties.Get with its attributes, locked or not.
type namesFakeItem struct{ attrs map[string]string }

func (i namesFakeItem) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	return dbus.MakeVariant(i.attrs), nil
}

func startNamesFake(t *testing.T) (*namesFake, *dbus.Conn) {
	t.Helper()
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
	f := &namesFake{collections: []dbus.ObjectPath{namesOpenColl, namesLockedColl}}
	export := func(v any, path dbus.ObjectPath, iface string) {
		if err := server.Export(v, path, iface); err != nil {
			t.Fatal(err)
		}
	}
	export(f, servicePath, ifaceService)
	export(namesFakeProps{f}, servicePath, ifaceProperties)
	for path, c := range map[dbus.ObjectPath]namesFakeColl{
		namesOpenColl:   {false, []dbus.ObjectPath{namesOpenItem, namesOtherItem, namesBadItem, namesGoneItem}},
		namesLockedColl: {true, []dbus.ObjectPath{namesLockedItem}},
	} {
		export(c, path, ifaceProperties)
		export(c, path, ifaceCollection)
	}
	for path, user := range map[dbus.ObjectPath]string{
		namesOpenItem: "db/prod", namesOtherItem: "api/token", namesBadItem: "db/bad name", namesLockedItem: "db/locked",
	} {
		export(namesFakeItem{map[string]string{attrService: "svc", attrUsername: user}}, path, ifaceProperties)
	}
	if reply, err := server.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return f, client
}

// TestNameListerAsksNothing: only the unlocked collection's items are
// listed (valid names under the prefix), the locked one's are not, and
// nothing that may prompt is called, also when every collection is locked.
func TestNameListerAsksNothing(t *testing.T) {
	f, client := startNamesFake(t)
	ctx := testContext(t, 5*time.Second)
	l, err := OpenNameLister(ctx, Options{Conn: client, Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got, err := l.List(ctx, "db/"); err != nil || !slices.Equal(got, []string{"db/prod"}) {
		t.Errorf("List(db/) = %q, %v; want [db/prod]", got, err)
	}
	if got, err := l.List(ctx, ""); err != nil || !slices.Equal(got, []string{"api/token", "db/prod"}) {
		t.Errorf("List() = %q, %v; want [api/token db/prod]", got, err)
	}
	f.mu.Lock()
	f.collections = []dbus.ObjectPath{namesLockedColl}
	f.mu.Unlock()
	if got, err := l.List(ctx, ""); err != nil || len(got) != 0 {
		t.Errorf("List() with every collection locked = %q, %v; want nothing", got, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unlocks != 0 || f.searches != 0 {
		t.Errorf("the lister called Unlock %d times and Service.SearchItems %d times, want neither", f.unlocks, f.searches)
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
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bus, err := startChild(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bus.stop)
	// dbus-daemon prints its address once it listens; reading blocks until
	// then, and ends with EOF if it dies first.
	addr, _ := bufio.NewReader(out).ReadString('\n')
	go io.Copy(io.Discard, out)
	if addr = strings.TrimSpace(addr); addr == "" {
		t.Fatal("dbus-daemon printed no address")
	}
	return addr
}
