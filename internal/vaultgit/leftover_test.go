package vaultgit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failScopeResolver merges scope files (.age-recipients) by refusing
// them, as filevault does when the clones removed every member of one.
type failScopeResolver struct{ toyResolver }

func (r failScopeResolver) Mergeable(rel string) bool {
	return r.toyResolver.Mergeable(rel) || strings.HasSuffix(rel, "/.age-recipients")
}

func (r failScopeResolver) Merge(rel string, base, upstream, local []byte) ([]byte, error) {
	if strings.HasSuffix(rel, "/.age-recipients") {
		return nil, errors.New("the clones removed every member of the scope")
	}
	return r.toyResolver.Merge(rel, base, upstream, local)
}

// A sync that fails after it kept the local version of a secret beside
// upstream's (files nearer the root go first: secrets/x.age before
// secrets/p/.age-recipients) leaves the clone as it was: no conflict copy
// stays behind as an untracked file, which the next sync would commit and
// push as a secret of its own.
func TestSyncFailureLeavesNoConflictCopy(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/x.age", blob(t))
	write(t, a, "secrets/p/.age-recipients", []byte("k1\nk2\n"))
	syncT(t, a)
	b := tm.clone()
	write(t, a, "secrets/x.age", blob(t))
	write(t, a, "secrets/p/.age-recipients", []byte("k1\n"))
	syncT(t, a)
	write(t, b, "secrets/x.age", blob(t))
	write(t, b, "secrets/p/.age-recipients", []byte("k2\n"))
	o := opts(b)
	o.Resolver = failScopeResolver{}
	_, err := Sync(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "removed every member") {
		t.Fatalf("Sync = %v, want the scope's merge error", err)
	}
	if st := gitT(t, b, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("status after the failed sync:\n%s", st)
	}
	wantBytes(t, b, "secrets/x.conflict-1.age", nil)
}

// A recipient change in both clones leaves every secret changed on both
// sides. Their files are read with a few git processes, not two per side
// of each file: 2,000 such secrets took 28 s of cat-file alone.
func TestSyncReadsConflictsInBatches(t *testing.T) {
	tm := newSerialTeam(t, "")
	a := tm.founded()
	const n = 40
	name := func(i int) string { return fmt.Sprintf("secrets/s%02d.age", i) }
	for i := range n {
		write(t, a, name(i), blob(t))
	}
	syncT(t, a)
	b := tm.clone()
	for i := range n {
		write(t, a, name(i), blob(t))
		write(t, b, name(i), blob(t))
	}
	syncT(t, a)
	trace := filepath.Join(t.TempDir(), "trace")
	t.Setenv("GIT_TRACE", trace)
	rep := syncT(t, b)
	if len(rep.Conflicts) != n {
		t.Fatalf("%d conflicts, want %d", len(rep.Conflicts), n)
	}
	tr, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(tr), "built-in: git cat-file"); got > 4 {
		t.Errorf("%d git cat-file runs for %d conflicting files", got, n)
	}
	for i := range n {
		if read(t, b, fmt.Sprintf("secrets/s%02d.conflict-1.age", i)) == nil {
			t.Fatalf("no conflict copy of %s", name(i))
		}
	}
}
