package wine_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/winetest"
)

// TestWindowsPinentry: kr.exe under wine has no console to ask on, so it
// asks through the pinentry KR_PINENTRY names (a Windows program: here a
// fake that answers), reads the locked vault, and names the secret and
// the vault in the dialog; a canceled dialog is exit 4 with nothing on
// stdout.
func TestWindowsPinentry(t *testing.T) {
	e := winetest.Setup(t)
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	fake := e.Build(t, "github.com/kr-keyring/kr/internal/pinentry/internal/fakepinentry")
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 12})
	if err != nil {
		t.Fatal(err)
	}
	const pass = "wine-pinentry-pass"
	if _, err := v.Init(context.Background(), []byte(pass)); err != nil {
		t.Fatal(err)
	}
	id, err := v.ID()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Set(context.Background(), "db/pw", []byte("value-under-wine")); err != nil {
		t.Fatal(err)
	}
	winPath := func(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }
	log := filepath.Join(t.TempDir(), "pinentry.log")
	env := []string{"KR_BACKEND=file", "KR_VAULT=" + winPath(dir), "KR_NO_AGENT=1", "KR_PASSPHRASE=", "KR_PASSPHRASE_FILE=",
		"KR_ACCEPT=" + id, "KR_PINENTRY=" + winPath(fake), "FAKE_PINENTRY_LOG=" + winPath(log)}
	run := func(extra ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := e.Context(2 * time.Minute)
		defer cancel()
		cmd := e.Command(ctx, kr, "get", "db/pw")
		cmd.Env = append(append(cmd.Env, env...), extra...)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), errOut.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), 0
	}
	if out, stderr, code := run("FAKE_PINENTRY_PIN=" + pass); code != 0 || out != "value-under-wine" {
		t.Fatalf("get through the pinentry: exit %d, %q, %s", code, out, stderr)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "SETDESC ") || !strings.Contains(string(b), " asks for the secret db/pw from the vault ") {
		t.Errorf("the dialog did not name the secret and the vault:\n%s", b)
	}
	if out, stderr, code := run("FAKE_PINENTRY_PIN="); code != 4 || out != "" || !strings.Contains(stderr, "dismissed") {
		t.Errorf("canceled: exit %d, %q, %s", code, out, stderr)
	}
}
