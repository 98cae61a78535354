package wine_test

import (
	"context"
	"encoding/json"
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

// TestWindowsAgent runs kr.exe under wine against a file vault: `kr
// unlock` starts the agent itself (detached) on the named pipe, `kr get`
// then reads with no passphrase, status shows the vault, `kr lock` makes
// reads exit 4 with the unlock hint, and `kr agent stop` ends it.
func TestWindowsAgent(t *testing.T) {
	e := winetest.Setup(t)
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	dir := filepath.Join(t.TempDir(), "vault")
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 12})
	if err != nil {
		t.Fatal(err)
	}
	const pass = "wine-agent-pass"
	if _, err := v.Init(context.Background(), []byte(pass)); err != nil {
		t.Fatal(err)
	}
	id, err := v.ID()
	if err != nil {
		t.Fatal(err)
	}
	// The vault was made here, not by kr init under wine: KR_ACCEPT stands
	// for the record kr init would have made.
	env := []string{"KR_BACKEND=file", "KR_VAULT=Z:" + strings.ReplaceAll(dir, "/", `\`), "KR_NO_AGENT=", "KR_PASSPHRASE=", "KR_PASSPHRASE_FILE=", "KR_ACCEPT=" + id}
	run := func(stdin string, extra []string, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := e.Context(2 * time.Minute)
		defer cancel()
		cmd := e.Command(ctx, kr, args...)
		cmd.Env = append(append(cmd.Env, env...), extra...)
		cmd.Stdin = strings.NewReader(stdin)
		// Files, not pipes: under wine the agent kr starts inherits kr's
		// Unix descriptors, and a pipe would stay open for its life (on
		// Windows, Go passes a child only the handles it names).
		outF, _ := os.CreateTemp(t.TempDir(), "out")
		errF, _ := os.CreateTemp(t.TempDir(), "err")
		defer outF.Close()
		defer errF.Close()
		cmd.Stdout, cmd.Stderr = outF, errF
		err := cmd.Run()
		out, _ := os.ReadFile(outF.Name())
		errOut, _ := os.ReadFile(errF.Name())
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut)
		}
		return string(out), string(errOut), code
	}
	t.Cleanup(func() { run("", nil, "agent", "stop") })

	if _, stderr, code := run("value-under-wine", nil, "set", "db/pw"); code != 0 {
		t.Fatalf("set: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run("", []string{"KR_PASSPHRASE=" + pass}, "unlock", "--ttl", "5m"); code != 0 {
		t.Fatalf("unlock: exit %d: %s", code, stderr)
	}
	for i := range 2 {
		if got, stderr, code := run("", nil, "get", "db/pw"); code != 0 || got != "value-under-wine" {
			t.Fatalf("get %d through the agent: exit %d, %q, %s", i, code, got, stderr)
		}
	}
	out, stderr, code := run("", nil, "agent", "status", "--json")
	var st struct {
		Running bool   `json:"running"`
		Socket  string `json:"socket"`
		Vaults  []struct {
			ID string `json:"id"`
		} `json:"vaults"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || !st.Running || len(st.Vaults) != 1 ||
		!strings.HasPrefix(st.Socket, `\\.\pipe\kr-agent-S-1-5-`) {
		t.Fatalf("status: exit %d, %q, %s", code, out, stderr)
	}
	if _, stderr, code := run("", nil, "lock"); code != 0 {
		t.Fatalf("lock: exit %d: %s", code, stderr)
	}
	if _, stderr, code := run("", nil, "get", "db/pw"); code != 4 || !strings.Contains(stderr, "kr: hint: run 'kr unlock'") {
		t.Fatalf("get after lock: exit %d, %s", code, stderr)
	}
	if _, stderr, code := run("", nil, "agent", "stop"); code != 0 {
		t.Fatalf("agent stop: exit %d: %s", code, stderr)
	}
	out, _, _ = run("", nil, "agent", "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Running {
		t.Fatalf("status after stop: %s", out)
	}
}
