package vaultgit

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// toyResolver merges vault.json as a sorted set of lines (adds from both
// sides kept, a removal on either side wins) and treats secrets/**.age as
// secrets.
type toyResolver struct{}

func (toyResolver) Mergeable(rel string) bool { return rel == "vault.json" }

func (toyResolver) Merge(rel string, base, upstream, local []byte) ([]byte, error) {
	b, u, l := lineSet(base), lineSet(upstream), lineSet(local)
	var out []string
	for line := range u {
		if !b[line] || l[line] {
			out = append(out, line)
		}
	}
	for line := range l {
		if !u[line] && !b[line] {
			out = append(out, line)
		}
	}
	slices.Sort(out)
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

func lineSet(b []byte) map[string]bool {
	set := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			set[l] = true
		}
	}
	return set
}

func (toyResolver) Secret(rel string) bool {
	return strings.HasPrefix(rel, "secrets/") && strings.HasSuffix(rel, ".age")
}

func (toyResolver) ConflictPath(rel string, n int) (string, error) {
	return fmt.Sprintf("%s.conflict-%d.age", strings.TrimSuffix(rel, ".age"), n), nil
}

// TestMain makes git ignore the machine's configuration and gives commits
// an identity through the environment, once for every test: tests that
// change the environment further do not run in parallel.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "vaultgit-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	global := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(global, []byte("[init]\n\tdefaultBranch = main\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_CONFIG_GLOBAL":   global,
		"GIT_AUTHOR_NAME":     "Tester",
		"GIT_AUTHOR_EMAIL":    "tester@example.invalid",
		"GIT_COMMITTER_NAME":  "Tester",
		"GIT_COMMITTER_EMAIL": "tester@example.invalid",
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS", "GIT_CEILING_DIRECTORIES"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// gitT runs git in dir and returns its trimmed stdout; a failure fails the test.
func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitErr(dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// team is a bare repository and the clones that share it.
type team struct {
	t      *testing.T
	remote string
	sub    string // the vault's folder inside each clone, "" for the top
}

// newTeam makes the bare repository and runs the test in parallel with
// the others.
func newTeam(t *testing.T, sub string) *team {
	t.Helper()
	t.Parallel()
	return newSerialTeam(t, sub)
}

// newSerialTeam is newTeam for a test that changes the environment.
func newSerialTeam(t *testing.T, sub string) *team {
	t.Helper()
	remote := filepath.Join(t.TempDir(), "remote.git")
	gitT(t, ".", "init", "-q", "--bare", remote)
	return &team{t: t, remote: remote, sub: sub}
}

// clone makes a clone and returns its vault directory.
func (tm *team) clone(extra ...string) string {
	tm.t.Helper()
	dir := filepath.Join(tm.t.TempDir(), "clone")
	gitT(tm.t, ".", append(append([]string{"clone", "-q"}, extra...), tm.remote, dir)...)
	vault := filepath.Join(dir, filepath.FromSlash(tm.sub))
	if err := os.MkdirAll(filepath.Join(vault, "secrets"), 0o700); err != nil {
		tm.t.Fatal(err)
	}
	return vault
}

// founded makes the first clone, gives it a vault.json and publishes it.
func (tm *team) founded() string {
	tm.t.Helper()
	a := tm.clone()
	write(tm.t, a, "vault.json", []byte("k1\nk2\n"))
	rep := syncT(tm.t, a)
	if !rep.Published {
		tm.t.Fatalf("first sync: %+v, want Published", rep)
	}
	return a
}

func opts(vault string) Options {
	return Options{
		Dir:      vault,
		Resolver: toyResolver{},
		Message:  "kr: sync",
		Include:  []string{"vault.json", ".gitattributes", ".gitignore", "secrets/**/*.age", "secrets/**/.age-recipients"},
		Exclude:  []string{".lock", "**/.kr-tmp-*"},
	}
}

func syncT(t *testing.T, vault string) *Report {
	t.Helper()
	return syncOpts(t, opts(vault))
}

func syncOpts(t *testing.T, o Options) *Report {
	t.Helper()
	rep, err := Sync(context.Background(), o)
	if err != nil {
		t.Fatalf("sync %s: %v", o.Dir, err)
	}
	return rep
}

func blob(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, vault, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(vault, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, vault, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(vault, filepath.FromSlash(rel))); err != nil {
		t.Fatal(err)
	}
}

// read returns a file's bytes, nil when it does not exist.
func read(t *testing.T, vault, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vault, filepath.FromSlash(rel)))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantBytes(t *testing.T, vault, rel string, want []byte) {
	t.Helper()
	got := read(t, vault, rel)
	if want == nil && got != nil {
		t.Errorf("%s in %s exists (%d bytes), want none", rel, vault, len(got))
	} else if want != nil && !bytes.Equal(got, want) {
		t.Errorf("%s in %s = %q, want %q", rel, vault, got, want)
	}
}

// top is the top of the work tree that holds vault.
func top(t *testing.T, vault string) string {
	t.Helper()
	return gitT(t, vault, "rev-parse", "--show-toplevel")
}

// clean fails the test unless the work tree and index match HEAD, untracked
// files aside.
func clean(t *testing.T, vault string) {
	t.Helper()
	if st := gitT(t, vault, "status", "--porcelain", "--untracked-files=no"); st != "" {
		t.Errorf("work tree of %s not clean:\n%s", vault, st)
	}
}
