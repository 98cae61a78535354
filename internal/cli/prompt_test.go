package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

// newVaultEnv is a testEnv on a real file vault (passphrase "pw", cheap
// scrypt) holding a=value, with a terminal and no agent.
func newVaultEnv(t *testing.T, env map[string]string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	// As kr init does, the vault's key is recorded as accepted.
	rec := &recipients.Record{Path: filepath.Join(dir, "config", recipients.FileName)}
	v, err := filevault.Open(filevault.Options{Dir: vault, ScryptWorkFactor: 10, Accepted: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(context.Background(), "a", []byte("value")); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"KR_NO_AGENT": "1", "KR_CONFIG_DIR": filepath.Join(dir, "config"),
		"KR_BACKEND": "file", "KR_VAULT": vault}
	for k, v := range env {
		all[k] = v
	}
	e := newTestEnv(t, "", true, all)
	e.app.opened = nil
	return e
}

// TestPasswdChecksCurrentFirst: a wrong current passphrase is reported
// before the new one is asked, not after it was typed twice.
func TestPasswdChecksCurrentFirst(t *testing.T) {
	e := newVaultEnv(t, nil)
	e.term.answers = []string{"bad1", "bad2", "bad3", "new", "new"}
	if code := e.run("passwd"); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, e.err.String())
	}
	about := "asks to change the passphrase of the vault " + e.app.VaultDir + ", key "
	ask := "Current passphrase of that vault: "
	if got := e.term.shown.String(); strings.Count(got, ask) != 3 || strings.Count(got, about) != 3 ||
		strings.Count(got, ask+"kr: wrong passphrase, try again\n") != 2 || strings.Contains(got, "New") {
		t.Errorf("transcript:\n%s\nwant three asks naming the vault, two retries", got)
	}
	if !strings.Contains(e.err.String(), "kr: error: change the passphrase: wrong passphrase; nothing was changed\n") ||
		!strings.Contains(e.err.String(), "kr: hint: 3 wrong tries;") || !strings.Contains(e.err.String(), "'kr recover'") {
		t.Errorf("stderr %q", e.err.String())
	}

	// An empty new passphrase is refused at its first entry.
	e.term.shown.Reset()
	e.term.answers = []string{"pw", "", "never asked"}
	if code := e.run("passwd"); code != 1 {
		t.Fatalf("empty new passphrase: exit %d; stderr %q", code, e.err.String())
	}
	if got, want := e.term.shown.String(), "Current passphrase of that vault: New vault passphrase: "; !strings.HasSuffix(got, want) {
		t.Errorf("transcript %q, want %q", got, want)
	}
	if !strings.Contains(e.err.String(), "empty passphrase refused") {
		t.Errorf("stderr %q", e.err.String())
	}
}

// TestRecoverChecksCodeFirst: the same for the recovery code.
func TestRecoverChecksCodeFirst(t *testing.T) {
	e := newVaultEnv(t, nil)
	e.term.answers = []string{"AAAA", "BBBB", "CCCC", "new", "new"}
	if code := e.run("recover"); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, e.err.String())
	}
	if got := e.term.shown.String(); strings.Count(got, "Recovery code of that vault: ") != 3 || strings.Contains(got, "New") {
		t.Errorf("transcript %q: want three code prompts and no new passphrase asked", got)
	}
}

// TestWrongPassphraseTries: three tries at a terminal, like sudo and ssh;
// after the last the hint names kr recover. A passphrase from the
// environment is tried once.
func TestWrongPassphraseTries(t *testing.T) {
	e := newVaultEnv(t, nil)
	e.term.answers = []string{"bad1", "bad2", "pw"}
	if code := e.run("get", "a"); code != 0 || e.out.String() != "value\n" {
		t.Fatalf("right at the third try: exit %d, stdout %q, stderr %q", code, e.out.String(), e.err.String())
	}
	if n := strings.Count(e.term.shown.String(), "kr: wrong passphrase, try again\n"); n != 2 {
		t.Errorf("transcript %q: want 2 retries", e.term.shown.String())
	}

	e = newVaultEnv(t, nil)
	e.term.answers = []string{"bad1", "bad2", "bad3", "pw"}
	if code := e.run("get", "a"); code != 1 {
		t.Fatalf("three wrong: exit %d, want 1", code)
	}
	if n := strings.Count(e.term.shown.String(), "Passphrase of that vault: "); n != 3 {
		t.Errorf("asked %d times, want 3: %q", n, e.term.shown.String())
	}
	if !strings.Contains(e.err.String(), "kr: error: get a: wrong passphrase\n") || !strings.Contains(e.err.String(), "'kr recover'") {
		t.Errorf("stderr %q", e.err.String())
	}

	e = newVaultEnv(t, map[string]string{"KR_PASSPHRASE": "bad"})
	e.term.answers = []string{"pw"}
	if code := e.run("get", "a"); code != 1 {
		t.Fatalf("wrong KR_PASSPHRASE: exit %d, want 1", code)
	}
	if e.term.shown.Len() != 0 {
		t.Errorf("KR_PASSPHRASE was wrong and kr prompted: %q", e.term.shown.String())
	}
	if !strings.Contains(e.err.String(), "KR_PASSPHRASE") {
		t.Errorf("stderr %q", e.err.String())
	}
}

// getCounter counts reads, which decrypt in the file vault and may prompt
// in an OS store.
type getCounter struct {
	backends.Backend
	gets int
}

func (g *getCounter) Get(ctx context.Context, name string) ([]byte, error) {
	g.gets++
	return g.Backend.Get(ctx, name)
}

type peekingCounter struct{ *getCounter }

func (p peekingCounter) Has(ctx context.Context, name string) (bool, error) {
	_, err := p.Backend.Get(ctx, name)
	return err == nil, nil
}

// TestSetAsksBeforeOverwrite: at a terminal, a name that exists is asked
// about before the value; -f skips the question; piped values overwrite
// as always. Existence is looked up with Has where the store has it.
func TestSetAsksBeforeOverwrite(t *testing.T) {
	ctx := context.Background()
	for _, peek := range []bool{true, false} {
		e := newTestEnv(t, "", true, nil)
		counter := &getCounter{Backend: e.store}
		e.app.opened = backends.Checked(counter)
		if peek {
			e.app.opened = backends.Checked(peekingCounter{counter})
		}
		e.store.Set(ctx, "a", []byte("old"))

		e.term.answers = []string{"n", "never", "asked"}
		if code := e.run("set", "a"); code != 4 {
			t.Fatalf("peek=%v: declined: exit %d, want 4; stderr %q", peek, code, e.err.String())
		}
		if got := e.term.shown.String(); got != "a exists; overwrite? [y/N] " {
			t.Errorf("peek=%v: transcript %q", peek, got)
		}
		if !strings.Contains(e.err.String(), "kr: error: a exists and was kept\n") || !strings.Contains(e.err.String(), "kr set -f a") {
			t.Errorf("peek=%v: stderr %q", peek, e.err.String())
		}
		if peek && counter.gets != 0 {
			t.Errorf("a store with Has was read %d times to tell whether a exists", counter.gets)
		}
		if !peek && counter.gets == 0 {
			t.Errorf("a store without Has: existence not looked up with Get")
		}

		e.term.shown.Reset()
		e.term.answers = []string{"yes", "new", "new"}
		if code := e.run("set", "a"); code != 0 {
			t.Fatalf("peek=%v: yes: exit %d; stderr %q", peek, code, e.err.String())
		}
		if got := e.term.shown.String(); got != "a exists; overwrite? [y/N] Value for a: Repeat the value: " {
			t.Errorf("peek=%v: transcript %q", peek, got)
		}

		for _, flag := range []string{"-f", "--force"} {
			e.term.shown.Reset()
			e.term.answers = []string{"v" + flag, "v" + flag}
			if code := e.run("set", flag, "a"); code != 0 {
				t.Fatalf("%s: exit %d; stderr %q", flag, code, e.err.String())
			}
			if strings.Contains(e.term.shown.String(), "overwrite") {
				t.Errorf("%s: asked %q", flag, e.term.shown.String())
			}
		}

		e.term.shown.Reset()
		e.term.answers = []string{"x", "x"}
		if code := e.run("set", "b"); code != 0 || strings.Contains(e.term.shown.String(), "overwrite") {
			t.Errorf("a new name: exit %d, transcript %q", code, e.term.shown.String())
		}
	}

	e := newTestEnv(t, "piped", false, nil)
	e.store.Set(ctx, "a", []byte("old"))
	if code := e.run("set", "a"); code != 0 {
		t.Fatalf("piped: exit %d; stderr %q", code, e.err.String())
	}
	if v, _ := e.store.Get(ctx, "a"); string(v) != "piped" {
		t.Fatalf("piped value not stored: %q", v)
	}
}

// TestRmAsksFirst: at a terminal rm asks before it deletes, as set asks
// before it overwrites; anything but yes keeps every secret (exit 4); a
// missing name stops rm before the question; -f and a script do not ask.
func TestRmAsksFirst(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "", true, nil)
	e.store.Set(ctx, "a", []byte("1"))
	e.store.Set(ctx, "b", []byte("2"))

	e.term.answers = []string{"n"}
	if code := e.run("rm", "a", "b"); code != 4 {
		t.Fatalf("declined: exit %d, want 4; stderr %q", code, e.err.String())
	}
	if got := e.term.shown.String(); got != "remove 2 secrets (a, b)? [y/N] " {
		t.Errorf("transcript %q", got)
	}
	if !strings.Contains(e.err.String(), "nothing was removed") || !strings.Contains(e.err.String(), "kr rm -f") {
		t.Errorf("stderr %q", e.err.String())
	}
	for _, n := range []string{"a", "b"} {
		if _, err := e.store.Get(ctx, n); err != nil {
			t.Fatalf("%s lost after a declined rm: %v", n, err)
		}
	}

	e.term.shown.Reset()
	e.term.answers = []string{"y"}
	if code := e.run("rm", "a", "nope"); code != 3 {
		t.Fatalf("missing name: exit %d, want 3; stderr %q", code, e.err.String())
	}
	if e.term.shown.Len() != 0 {
		t.Errorf("asked before finding a missing name: %q", e.term.shown.String())
	}
	if _, err := e.store.Get(ctx, "a"); err != nil {
		t.Fatalf("a removed although rm stopped: %v", err)
	}

	e.term.answers = []string{"yes"}
	if code := e.run("rm", "a"); code != 0 {
		t.Fatalf("yes: exit %d; stderr %q", code, e.err.String())
	}
	if got := e.term.shown.String(); got != "remove a? [y/N] " {
		t.Errorf("transcript %q", got)
	}
	if _, err := e.store.Get(ctx, "a"); err == nil {
		t.Fatal("a still there after yes")
	}

	e.term.shown.Reset()
	e.term.answers = nil
	if code := e.run("rm", "-f", "b"); code != 0 || e.term.shown.Len() != 0 {
		t.Fatalf("-f: exit %d, transcript %q", code, e.term.shown.String())
	}

	p := newTestEnv(t, "", false, nil)
	p.store.Set(ctx, "c", []byte("3"))
	if code := p.run("rm", "c"); code != 0 {
		t.Fatalf("no terminal: exit %d; stderr %q", code, p.err.String())
	}
}
