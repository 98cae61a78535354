package secretservice

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/testenv"
)

// TestListInfoWriters: ls -l tells kr's items from those secret-tool,
// Python keyring and go-keyring wrote, with their modification times.
func TestListInfoWriters(t *testing.T) {
	needDaemon(t)
	tool := testenv.Tool(t, "secret-tool", "libsecret-tools")
	python := pythonWithKeyring(t)
	b := openTest(t, Options{})
	ctx := testContext(t, 30*time.Second)
	from := time.Now().Add(-time.Minute)

	if err := b.Set(ctx, "w/kr", []byte("v")); err != nil {
		t.Fatal(err)
	}
	run(t, []byte("v"), tool, "store", "--label=by hand", "service", b.service, "username", "w/secret-tool")
	runEnv(t, []string{"PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring"}, []byte("v"), python, "-c",
		"import sys, keyring; keyring.set_password(sys.argv[1], sys.argv[2], sys.stdin.read())", b.service, "w/python")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runEnv(t, []string{"KR_SS_TEST_GOKEYRING=set", "KR_SS_TEST_SERVICE=" + b.service, "KR_SS_TEST_USER=w/go"}, []byte("v"), self)

	infos, err := backends.ListInfo(ctx, b, "w/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"w/kr": "kr", "w/secret-tool": "secret-tool", "w/python": "python-keyring", "w/go": "go-keyring"}
	if len(infos) != len(want) {
		t.Fatalf("ListInfo(w/) = %+v, want %d items", infos, len(want))
	}
	to := time.Now().Add(time.Minute)
	for _, in := range infos {
		if in.Writer != want[in.Name] {
			t.Errorf("%s: writer %q, want %q", in.Name, in.Writer, want[in.Name])
		}
		if in.Modified.Before(from) || in.Modified.After(to) {
			t.Errorf("%s: modified %v, want about now", in.Name, in.Modified)
		}
	}
}

// TestListInfoLocked: describing items never unlocks or prompts: on a
// locked collection it answers at once and the collection stays locked.
func TestListInfoLocked(t *testing.T) {
	addr := firstResult(privateKeyring(t)).(string)
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
	// No prompter is on this bus: a call that prompted would wait out the
	// deadline and fail.
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	infos, err := b.ListInfo(c, "")
	if err != nil {
		t.Fatalf("ListInfo on a locked collection: %v", err)
	}
	t.Logf("described while locked: %+v", infos)
	if info, err := b.Info(ctx); err != nil || !info.Locked {
		t.Fatalf("Info after ListInfo = %+v, %v; want the collection still locked", info, err)
	}
}

// firstResult keeps only the address of privateKeyring's results, however
// many it has.
func firstResult(results ...any) any { return results[0] }
