package wine_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/winetest"
)

// TestWindowsBindCredentialManager runs kr.exe under wine against a file
// vault whose identity is bound to the real (wine) Credential Manager:
// with no terminal, no passphrase and no pinentry a read opens it through
// the item; with the item removed the same read exits 4 naming the binding,
// and the passphrase still opens it.
func TestWindowsBindCredentialManager(t *testing.T) {
	e := winetest.Setup(t)
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "vault")
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 12})
	if err != nil {
		t.Fatal(err)
	}
	const pass = "wine-bind-pass"
	if _, err := v.Init(context.Background(), []byte(pass)); err != nil {
		t.Fatal(err)
	}
	id, err := v.ID()
	if err != nil {
		t.Fatal(err)
	}
	// The vault was made here, not by kr init under wine: KR_ACCEPT stands
	// for the record kr init would have made. LOCALAPPDATA keeps any
	// personal identity of the shared prefix out of the binding.
	env := []string{"KR_BACKEND=file", "KR_VAULT=" + winPath(dir), "KR_NO_AGENT=1", "KR_PASSPHRASE=", "KR_PASSPHRASE_FILE=",
		"KR_ACCEPT=" + id, "KR_PINENTRY=never", "LOCALAPPDATA=" + winPath(filepath.Join(tmp, "appdata"))}
	run := func(stdin string, extra []string, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := e.Context(2 * time.Minute)
		defer cancel()
		cmd := e.Command(ctx, kr, args...)
		cmd.Env = append(append(cmd.Env, env...), extra...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		return out.String(), errOut.String(), code
	}
	// The binding key's item, as kr keeps it in Credential Manager.
	item := []string{"--backend", "dpapi", "--service", "kr-device-key"}
	t.Cleanup(func() { run("", nil, append(item, "rm", id)...) })

	if _, stderr, code := run("value-under-wine", nil, "set", "db/pw"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, stderr)
	}
	_, stderr, code := run("", []string{"KR_PASSPHRASE=" + pass}, "identity", "bind", "os")
	if code != 0 || !strings.Contains(stderr, "kr: bound the vault "+winPath(dir)+" to Credential Manager") ||
		strings.Contains(stderr, "your identity") {
		t.Fatalf("bind os: exit %d: %s", code, stderr)
	}
	if ls, stderr, code := run("", nil, append(item, "ls")...); code != 0 || !strings.Contains(ls, id+"\n") {
		t.Fatalf("Credential Manager holds no binding key for %s: exit %d, %q, %s", id, code, ls, stderr)
	}
	for i := range 2 {
		got, stderr, code := run("", nil, "get", "db/pw")
		if code != 0 || got != "value-under-wine" || stderr != "" {
			t.Fatalf("bound get %d: exit %d, %q, %s", i, code, got, stderr)
		}
	}
	if out, stderr, code := run("", nil, "identity", "status"); code != 0 || !strings.Contains(out, "os (Credential Manager)") ||
		!strings.Contains(out, "last unlock  os") {
		t.Fatalf("status: exit %d, %q, %s", code, out, stderr)
	}

	if _, stderr, code := run("", nil, append(item, "rm", id)...); code != 0 {
		t.Fatalf("remove the Credential Manager item: exit %d: %s", code, stderr)
	}
	got, stderr, code := run("", nil, "get", "db/pw")
	if code != 4 || got != "" || !strings.Contains(stderr, "kr: the os binding of the vault "+winPath(dir)+" did not open it: Credential Manager did not give the key") {
		t.Fatalf("get without the item: exit %d, %q, %s", code, got, stderr)
	}
	if got, stderr, code := run("", []string{"KR_PASSPHRASE=" + pass}, "get", "db/pw"); code != 0 || got != "value-under-wine" {
		t.Fatalf("get with the passphrase: exit %d, %q, %s", code, got, stderr)
	}
}

// winPath is p as a Windows program under wine sees it.
func winPath(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }
