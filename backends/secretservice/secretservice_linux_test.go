package secretservice

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
	"github.com/kr-keyring/kr/internal/testenv"
)

func TestConformance(t *testing.T) {
	needDaemon(t)
	backendtest.Run(t, func(t *testing.T) backends.Backend { return openTest(t, Options{}) })
}

func TestConformancePlain(t *testing.T) {
	needDaemon(t)
	if testing.Short() {
		t.Skip("short: the encrypted run covers the store; this one the plain session")
	}
	backendtest.Run(t, func(t *testing.T) backends.Backend {
		return openTest(t, Options{algorithm: algorithmPlain})
	})
}

func TestInfo(t *testing.T) {
	b := openTest(t, Options{})
	info, err := b.Info(testContext(t, 5*time.Second))
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Algorithm != algorithmDH {
		t.Errorf("Algorithm = %q, want %q", info.Algorithm, algorithmDH)
	}
	if !strings.HasPrefix(info.Service, ":") {
		t.Errorf("Service = %q, want a unique bus name", info.Service)
	}
	if info.Collection != loginCollection || info.Locked {
		t.Errorf("Collection = %q locked=%v, want the unlocked login collection", info.Collection, info.Locked)
	}
	if info.CollectionLabel == "" {
		t.Errorf("CollectionLabel is empty")
	}
	if b.Name() != "secretservice" {
		t.Errorf("Name = %q", b.Name())
	}
}

func TestItemSchema(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testContext(t, 10*time.Second)
	if err := b.Set(ctx, "db/prod", []byte("text value")); err != nil {
		t.Fatal(err)
	}
	items, err := b.search(ctx, b.itemAttributes("db/prod"), false)
	if err != nil || len(items) != 1 {
		t.Fatalf("search = %v, %v; want one item", items, err)
	}
	obj := b.conn.Object(busName, items[0])
	var label, attrs dbus.Variant
	if err := obj.CallWithContext(ctx, ifaceProperties+".Get", 0, ifaceItem, "Label").Store(&label); err != nil {
		t.Fatal(err)
	}
	if err := obj.CallWithContext(ctx, ifaceProperties+".Get", 0, ifaceItem, "Attributes").Store(&attrs); err != nil {
		t.Fatal(err)
	}
	if got := label.Value(); got != "db/prod (kr)" {
		t.Errorf("label = %q, want %q", got, "db/prod (kr)")
	}
	want := map[string]string{"service": b.service, "username": "db/prod"}
	got, _ := attrs.Value().(map[string]string)
	delete(got, "xdg:schema") // some services add their own
	if len(got) != len(want) || got["service"] != want["service"] || got["username"] != want["username"] {
		t.Errorf("attributes = %v, want %v", got, want)
	}
}

// TestSecretToolInterop checks both directions against libsecret's CLI.
func TestSecretToolInterop(t *testing.T) {
	needDaemon(t)
	tool := testenv.Tool(t, "secret-tool", "libsecret-tools")
	b := openTest(t, Options{})
	ctx := testContext(t, 20*time.Second)

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	for name, v := range map[string][]byte{
		"tool/text":   []byte("kr wrote this ✓"),
		"tool/binary": binary,
	} {
		if err := b.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
		out := run(t, nil, tool, "lookup", "service", b.service, "username", name)
		if !bytes.Equal(out, v) {
			t.Errorf("secret-tool lookup %s = %q, want %q", name, out, v)
		}
	}

	for name, v := range map[string][]byte{
		"from-tool/text":   []byte("secret-tool wrote this"),
		"from-tool/binary": binary,
	} {
		run(t, v, tool, "store", "--label=x", "service", b.service, "username", name)
		got, err := b.Get(ctx, name)
		if err != nil || !bytes.Equal(got, v) {
			t.Errorf("Get %s = %q, %v; want %q", name, got, err, v)
		}
	}
	names, err := b.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"from-tool/binary", "from-tool/text", "tool/binary", "tool/text"}; !slices.Equal(names, want) {
		t.Errorf("List = %q, want %q", names, want)
	}
	// An item another tool named with a name kr cannot address is ignored.
	run(t, []byte("v"), tool, "store", "--label=x", "service", b.service, "username", "has space")
	if names, err := b.List(ctx, "from-"); err != nil || len(names) != 2 {
		t.Errorf("List(from-) = %q, %v; want the two secret-tool items", names, err)
	}
	if err := b.Delete(ctx, "from-tool/text"); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "lookup", "service", b.service, "username", "from-tool/text").Output(); err == nil && len(out) > 0 {
		t.Errorf("secret-tool still finds a deleted item: %q", out)
	}
}

// TestDuplicates: items of other tools with extra attributes are the same
// secret to kr: Get picks the newest, Set supersedes them, Delete removes all.
func TestDuplicates(t *testing.T) {
	needDaemon(t)
	tool := testenv.Tool(t, "secret-tool", "libsecret-tools")
	b := openTest(t, Options{})
	ctx := testContext(t, 20*time.Second)
	run(t, []byte("older"), tool, "store", "--label=x", "service", b.service, "username", "dup", "application", "one")
	time.Sleep(1100 * time.Millisecond) // gnome-keyring's Modified has one-second resolution
	run(t, []byte("newer"), tool, "store", "--label=x", "service", b.service, "username", "dup", "application", "two")
	if got, err := b.Get(ctx, "dup"); err != nil || string(got) != "newer" {
		t.Fatalf("Get with two matches = %q, %v; want the newer", got, err)
	}
	if err := b.Delete(ctx, "dup"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "dup"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}

	run(t, []byte("theirs"), tool, "store", "--label=x", "service", b.service, "username", "dup2", "application", "one")
	if err := b.Set(ctx, "dup2", []byte("ours")); err != nil {
		t.Fatal(err)
	}
	items, err := b.search(ctx, b.itemAttributes("dup2"), false)
	if err != nil || len(items) != 1 {
		t.Fatalf("items after Set = %v, %v; want only kr's", items, err)
	}
	if out := run(t, nil, tool, "lookup", "service", b.service, "username", "dup2"); string(out) != "ours" {
		t.Fatalf("secret-tool lookup after Set = %q, want ours", out)
	}
}

func TestPythonKeyringInterop(t *testing.T) {
	python := pythonWithKeyring(t)
	b := openTest(t, Options{})
	ctx := testContext(t, 30*time.Second)
	pyEnv := []string{"PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring"}

	if err := b.Set(ctx, "py/read", []byte("kr → python")); err != nil {
		t.Fatal(err)
	}
	out := runEnv(t, pyEnv, nil, python, "-m", "keyring", "get", b.service, "py/read")
	if got := strings.TrimSuffix(string(out), "\n"); got != "kr → python" {
		t.Errorf("python3 -m keyring get = %q, want %q", got, "kr → python")
	}

	runEnv(t, pyEnv, []byte("python → kr"), python, "-c",
		"import sys, keyring; keyring.set_password(sys.argv[1], sys.argv[2], sys.stdin.read())", b.service, "py/wrote")
	if got, err := b.Get(ctx, "py/wrote"); err != nil || string(got) != "python → kr" {
		t.Errorf("Get of python's item = %q, %v", got, err)
	}
	if names, err := b.List(ctx, "py/"); err != nil || !slices.Equal(names, []string{"py/read", "py/wrote"}) {
		t.Errorf("List(py/) = %q, %v", names, err)
	}
}

func TestGoKeyringInterop(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testContext(t, 30*time.Second)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	goKeyring := func(mode, name string, stdin []byte) []byte {
		return runEnv(t, []string{"KR_SS_TEST_GOKEYRING=" + mode, "KR_SS_TEST_SERVICE=" + b.service, "KR_SS_TEST_USER=" + name}, stdin, self)
	}
	if err := b.Set(ctx, "gk/read", []byte("kr → go-keyring")); err != nil {
		t.Fatal(err)
	}
	if got := goKeyring("get", "gk/read", nil); string(got) != "kr → go-keyring" {
		t.Errorf("go-keyring Get = %q", got)
	}
	goKeyring("set", "gk/wrote", []byte("go-keyring → kr"))
	if got, err := b.Get(ctx, "gk/wrote"); err != nil || string(got) != "go-keyring → kr" {
		t.Errorf("Get of go-keyring's item = %q, %v", got, err)
	}
	if names, err := b.List(ctx, "gk/"); err != nil || !slices.Equal(names, []string{"gk/read", "gk/wrote"}) {
		t.Errorf("List(gk/) = %q, %v", names, err)
	}
}

// pythonWithKeyring finds a python3 that has Debian's python3-keyring: a
// pyenv or venv python3 earlier on PATH usually does not.
func pythonWithKeyring(t *testing.T) string {
	t.Helper()
	needDaemon(t)
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import keyring.backends.SecretService").Run() == nil {
			return p
		}
	}
	testenv.Skip(t, "no python3 with the keyring module (Debian: python3-keyring)")
	return ""
}

func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	return runEnv(t, nil, stdin, name, args...)
}

func runEnv(t *testing.T, extraEnv []string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	ctx := testContext(t, 20*time.Second)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}
