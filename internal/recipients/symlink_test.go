package recipients

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// One vault has one record, whatever path reaches it: a vault opened
// through a symlink (KR_VAULT=~/vault pointing at ~/src/team-vault) must
// see the scopes accepted through the other path, or a scope a pusher
// removed reads as one never accepted there, and its secrets go to
// everyone. Folders below the vault that do not exist yet resolve too.
func TestSymlinkedVaultSharesTheRecord(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, "config", FileName)}
	real := filepath.Join(dir, "src", "team-vault")
	if err := os.MkdirAll(filepath.Join(real, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "vault")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	scope := filepath.Join("secrets", "prod") // not created yet
	if err := r.Accept(filepath.Join(real, scope), a); err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(real, a, b); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(filepath.Join(link, scope)); err != nil || !slices.Equal(acc, []string{a}) {
		t.Errorf("scope through the link: %q, %v; want what was accepted through the real path", acc, err)
	}
	if err := r.Forget(link, b); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(real); err != nil || !slices.Equal(acc, []string{a}) {
		t.Errorf("after Forget through the link: %q, %v", acc, err)
	}
}

// A record written before keys resolved symlinks is still read: the
// vault's entry under the path it was reached by then counts until the
// next change moves it under the resolved path.
func TestRecordKeyedByLinkIsStillRead(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, FileName)}
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	err := r.update(func(rec *record) bool {
		rec.Vaults[link] = []string{a}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(link); err != nil || !slices.Equal(acc, []string{a}) {
		t.Fatalf("old entry: %q, %v", acc, err)
	}
	if err := r.Accept(link, b); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(real); err != nil || !slices.Equal(acc, []string{a, b}) {
		t.Fatalf("after Accept: %q, %v; want the old entry moved and extended", acc, err)
	}
	if err := r.Forget(real, a); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(link); err != nil || !slices.Equal(acc, []string{b}) {
		t.Fatalf("after Forget: %q, %v; the old entry must not come back", acc, err)
	}
}

// AcceptedBelow gives a vault's scope lists in one read, keyed by folder
// below the directory asked about, through a symlink as through the real
// path, and nothing of the vault's own list or another vault's.
func TestAcceptedBelow(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, "config", FileName)}
	real := filepath.Join(dir, "team-vault")
	if err := os.MkdirAll(filepath.Join(real, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for p, key := range map[string]string{
		real:                                        a,
		filepath.Join(real, "secrets", "prod"):      a,
		filepath.Join(real, "secrets", "a", "b"):    b,
		filepath.Join(dir, "other", "secrets", "x"): b,
	} {
		if err := r.Accept(p, key); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][]string{"prod": {a}, "a/b": {b}}
	paths := []string{filepath.Join(real, "secrets")}
	link := filepath.Join(dir, "vault")
	if err := os.Symlink(real, link); err == nil {
		paths = append(paths, filepath.Join(link, "secrets"))
	}
	for _, p := range paths {
		got, err := r.AcceptedBelow(p)
		if err != nil || len(got) != len(want) || !slices.Equal(got["prod"], want["prod"]) || !slices.Equal(got["a/b"], want["a/b"]) {
			t.Errorf("AcceptedBelow(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
}
