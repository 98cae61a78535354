package vaultgit

import (
	"context"
	"errors"
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
