package vaultgit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestSyncDifferentSecrets(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	sa, sb := blob(t), blob(t)
	write(t, a, "secrets/a.age", sa)
	write(t, b, "secrets/b.age", sb)

	ra := syncT(t, a)
	if !ra.Committed || !ra.Pushed || ra.Pulled != 0 || len(ra.Conflicts) != 0 {
		t.Errorf("A's sync: %+v", ra)
	}
	rb := syncT(t, b)
	if !rb.Committed || !rb.Pushed || rb.Pulled != 1 || len(rb.Conflicts) != 0 || len(rb.Merged) != 0 {
		t.Errorf("B's sync: %+v", rb)
	}
	ra = syncT(t, a)
	if ra.Committed || ra.Pushed || ra.Pulled != 1 {
		t.Errorf("A's second sync: %+v", ra)
	}
	for _, v := range []string{a, b} {
		wantBytes(t, v, "secrets/a.age", sa)
		wantBytes(t, v, "secrets/b.age", sb)
		wantBytes(t, v, "vault.json", []byte("k1\nk2\n"))
		clean(t, v)
	}
	if ha, hb := gitT(t, a, "rev-parse", "HEAD"), gitT(t, b, "rev-parse", "HEAD"); ha != hb {
		t.Errorf("HEAD differs: %s and %s", ha, hb)
	}
	// Nothing left to do: nothing committed, nothing pushed.
	if rb = syncT(t, b); rb.Committed || rb.Pushed || rb.Pulled != 0 {
		t.Errorf("idle sync: %+v", rb)
	}
}

func TestSyncSameSecretBothChanged(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/x.age", blob(t))
	syncT(t, a)
	b := tm.clone()

	for n, kept := range []string{"secrets/x.conflict-1.age", "secrets/x.conflict-2.age"} {
		xa, xb := blob(t), blob(t)
		write(t, a, "secrets/x.age", xa)
		write(t, b, "secrets/x.age", xb)
		syncT(t, a)
		rb := syncT(t, b)
		want := []Conflict{{Path: "secrets/x.age", KeptAs: kept, Kind: "both changed"}}
		if !slices.Equal(rb.Conflicts, want) || !rb.Pushed {
			t.Fatalf("round %d: B's sync: %+v, want conflicts %+v", n+1, rb, want)
		}
		syncT(t, a)
		for _, v := range []string{a, b} {
			wantBytes(t, v, "secrets/x.age", xa)
			wantBytes(t, v, kept, xb)
			clean(t, v)
		}
		if runtime.GOOS != "windows" {
			fi, err := os.Stat(filepath.Join(b, filepath.FromSlash(kept)))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", kept, fi.Mode().Perm())
			}
		}
	}
}

func TestSyncModifyDelete(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	x, y := blob(t), blob(t)
	write(t, a, "secrets/x.age", x)
	write(t, a, "secrets/y.age", y)
	syncT(t, a)
	b := tm.clone()

	xb, ya := blob(t), blob(t)
	remove(t, a, "secrets/x.age") // deleted upstream, changed here
	write(t, b, "secrets/x.age", xb)
	write(t, a, "secrets/y.age", ya) // changed upstream, deleted here
	remove(t, b, "secrets/y.age")
	syncT(t, a)
	rb := syncT(t, b)
	want := []Conflict{
		{Path: "secrets/x.age", KeptAs: "secrets/x.conflict-1.age", Kind: "deleted upstream, changed here"},
		{Path: "secrets/y.age", Kind: "changed upstream, deleted here"},
	}
	if !slices.Equal(rb.Conflicts, want) {
		t.Fatalf("B's conflicts: %+v, want %+v", rb.Conflicts, want)
	}
	syncT(t, a)
	for _, v := range []string{a, b} {
		wantBytes(t, v, "secrets/x.age", nil)
		wantBytes(t, v, "secrets/x.conflict-1.age", xb)
		wantBytes(t, v, "secrets/y.age", ya)
		wantBytes(t, v, "secrets/y.conflict-1.age", nil)
		clean(t, v)
	}
}

// A local commit whose only change loses to upstream becomes empty: the
// rebase skips it instead of stopping.
func TestSyncLocalDeleteLosesWhole(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/y.age", blob(t))
	syncT(t, a)
	b := tm.clone()
	ya := blob(t)
	write(t, a, "secrets/y.age", ya)
	remove(t, b, "secrets/y.age")
	syncT(t, a)
	head := gitT(t, a, "rev-parse", "HEAD")
	rb := syncT(t, b)
	if len(rb.Conflicts) != 1 || rb.Pushed {
		t.Errorf("B's sync: %+v, want one conflict and nothing to push", rb)
	}
	if got := gitT(t, b, "rev-parse", "HEAD"); got != head {
		t.Errorf("B's HEAD %s, want upstream's %s", got, head)
	}
	wantBytes(t, b, "secrets/y.age", ya)
	clean(t, b)
}

func TestSyncBothAdded(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	za, zb := blob(t), blob(t)
	write(t, a, "secrets/z.age", za)
	write(t, b, "secrets/z.age", zb)
	syncT(t, a)
	rb := syncT(t, b)
	want := []Conflict{{Path: "secrets/z.age", KeptAs: "secrets/z.conflict-1.age", Kind: "both added"}}
	if !slices.Equal(rb.Conflicts, want) {
		t.Fatalf("B's conflicts: %+v, want %+v", rb.Conflicts, want)
	}
	syncT(t, a)
	for _, v := range []string{a, b} {
		wantBytes(t, v, "secrets/z.age", za)
		wantBytes(t, v, "secrets/z.conflict-1.age", zb)
	}
}

func TestSyncMergesVaultJSON(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	write(t, a, "vault.json", []byte("k2\nk3\n"))     // k1 removed, k3 added
	write(t, b, "vault.json", []byte("k1\nk2\nk4\n")) // k4 added
	sb := blob(t)
	write(t, b, "secrets/s.age", sb)
	syncT(t, a)
	rb := syncT(t, b)
	if !slices.Equal(rb.Merged, []string{"vault.json"}) || len(rb.Conflicts) != 0 || !rb.Pushed {
		t.Fatalf("B's sync: %+v", rb)
	}
	syncT(t, a)
	for _, v := range []string{a, b} {
		wantBytes(t, v, "vault.json", []byte("k2\nk3\nk4\n"))
		wantBytes(t, v, "secrets/s.age", sb)
		clean(t, v)
	}
}

// B pushes between A's pull and A's push: A's push is refused, A pulls
// again and pushes.
func TestSyncPushRace(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	sa, sb := blob(t), blob(t)
	write(t, a, "secrets/a.age", sa)
	calls := 0
	o := opts(a)
	o.AfterMerge = func(ctx context.Context) (string, error) {
		calls++
		if calls == 1 {
			write(t, b, "secrets/b.age", sb)
			if rb := syncT(t, b); !rb.Pushed {
				t.Errorf("B's sync: %+v", rb)
			}
		}
		return "", nil
	}
	ra := syncOpts(t, o)
	if !ra.Pushed || ra.Pulled != 1 || calls != 2 {
		t.Errorf("A's sync: %+v after %d AfterMerge calls, want pushed, 1 pulled, 2 calls", ra, calls)
	}
	syncT(t, b)
	for _, v := range []string{a, b} {
		wantBytes(t, v, "secrets/a.age", sa)
		wantBytes(t, v, "secrets/b.age", sb)
	}
}

// The remote moves at every attempt: the sync gives up with an error.
func TestSyncPushRaceGivesUp(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	write(t, a, "secrets/a.age", blob(t))
	o := opts(a)
	calls := 0
	o.AfterMerge = func(ctx context.Context) (string, error) {
		calls++
		write(t, b, "secrets/b.age", blob(t))
		syncT(t, b)
		return "", nil
	}
	_, err := Sync(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "moved") {
		t.Fatalf("sync: %v, want an error saying the remote moved", err)
	}
	if calls != maxPushAttempts {
		t.Errorf("AfterMerge ran %d times, want %d", calls, maxPushAttempts)
	}
	clean(t, a)
}

// AfterMerge's writes (re-encryption) are committed and pushed with its message.
func TestSyncAfterMergeCommits(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	re := blob(t)
	o := opts(a)
	o.AfterMerge = func(ctx context.Context) (string, error) {
		write(t, a, "secrets/r.age", re)
		return "kr: re-encrypt", nil
	}
	ra := syncOpts(t, o)
	if !ra.AfterMergeCommitted || !ra.Pushed {
		t.Fatalf("A's sync: %+v", ra)
	}
	if msg := gitT(t, a, "log", "-1", "--format=%s"); msg != "kr: re-encrypt" {
		t.Errorf("last commit %q", msg)
	}
	syncT(t, b)
	wantBytes(t, b, "secrets/r.age", re)
}

func TestSyncPublishes(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.clone()
	sa := blob(t)
	write(t, a, "secrets/a.age", sa)
	rep := syncT(t, a)
	if !rep.Published || !rep.Pushed || !rep.Committed || rep.NoRemote {
		t.Fatalf("report %+v", rep)
	}
	if up := gitT(t, a, "rev-parse", "--abbrev-ref", "@{u}"); up != "origin/main" {
		t.Errorf("upstream %q, want origin/main", up)
	}
	if got, want := gitT(t, tm.remote, "rev-parse", "main"), gitT(t, a, "rev-parse", "HEAD"); got != want {
		t.Errorf("remote main %s, want %s", got, want)
	}
	b := tm.clone()
	wantBytes(t, b, "secrets/a.age", sa)
	attrs := string(read(t, b, ".gitattributes"))
	for _, l := range attributes {
		if !strings.Contains(attrs, l+"\n") {
			t.Errorf(".gitattributes lacks %q:\n%s", l, attrs)
		}
	}
}

func TestSyncNoRemote(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gitT(t, dir, "init", "-q")
	write(t, dir, "secrets/a.age", blob(t))
	rep := syncT(t, dir)
	if !rep.NoRemote || !rep.Committed || rep.Pushed {
		t.Fatalf("report %+v", rep)
	}
	if files := gitT(t, dir, "ls-files"); files != ".gitattributes\nsecrets/a.age" {
		t.Errorf("committed files:\n%s", files)
	}
	clean(t, dir)
}

func TestSyncNotRepository(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(dir))
	_, err := Sync(context.Background(), opts(dir))
	if !errors.Is(err, ErrNotRepository) {
		t.Fatalf("sync: %v, want ErrNotRepository", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, ".gitattributes")); !os.IsNotExist(err) {
		t.Errorf(".gitattributes written outside a repository: %v", err)
	}
}

// A rebase the user left in progress is refused, and nothing changes.
func TestSyncRefusesRebaseInProgress(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	write(t, a, "notes.txt", []byte("a\n"))
	gitT(t, a, "add", "notes.txt")
	gitT(t, a, "commit", "-q", "-m", "a's notes")
	gitT(t, a, "push", "-q")
	write(t, b, "notes.txt", []byte("b\n"))
	gitT(t, b, "add", "notes.txt")
	gitT(t, b, "commit", "-q", "-m", "b's notes")
	if _, err := gitErr(b, "pull", "-q", "--rebase"); err == nil {
		t.Fatal("git pull --rebase did not stop on the conflict")
	}
	write(t, b, "secrets/new.age", blob(t))
	before := snapshot(t, b)

	_, err := Sync(context.Background(), opts(b))
	if err == nil || !strings.Contains(err.Error(), "git rebase --abort") {
		t.Fatalf("sync: %v, want a refusal with the hint", err)
	}
	t.Log(err)
	if after := snapshot(t, b); after != before {
		t.Errorf("sync changed the clone:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// snapshot describes the state a refused sync must not change.
func snapshot(t *testing.T, vault string) string {
	t.Helper()
	return gitT(t, vault, "rev-parse", "HEAD") + "\n" +
		gitT(t, vault, "status", "--porcelain", "--untracked-files=all") + "\n" +
		gitT(t, vault, "ls-files", "-s")
}

func TestSyncUnmergeableConflict(t *testing.T) {
	for _, tc := range []struct {
		name, sub, file string
	}{
		{"outside the vault", "team/vault", "../notes.txt"},
		{"neither secret nor mergeable", "", "README"},
		{"a secret's neighbour", "", "secrets/notes.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := newTeam(t, tc.sub)
			a := tm.founded()
			b := tm.clone()
			// Not kr's: sync commits none of these, a person did.
			write(t, a, tc.file, []byte("a\n"))
			gitT(t, a, "add", tc.file)
			gitT(t, a, "commit", "-q", "-m", "a's notes")
			syncT(t, a)
			write(t, b, tc.file, []byte("b\n"))
			xb := blob(t)
			write(t, b, "secrets/x.age", xb)
			gitT(t, b, "add", tc.file)
			gitT(t, b, "commit", "-q", "-m", "b's notes")
			_, err := Sync(context.Background(), opts(b))
			want := filepath.ToSlash(filepath.Clean(filepath.Join(tc.sub, tc.file)))
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "as it was before") {
				t.Fatalf("sync: %v, want an error naming %s", err, want)
			}
			t.Log(err)
			rebasing, rerr := gitErr(b, "rev-parse", "-q", "--verify", "REBASE_HEAD")
			if rerr == nil {
				t.Errorf("a rebase is left in progress (REBASE_HEAD %s)", rebasing)
			}
			if _, err := os.Stat(filepath.Join(top(t, b), ".git", "rebase-merge")); !os.IsNotExist(err) {
				t.Errorf("rebase-merge left: %v", err)
			}
			// HEAD is B's own commit, on top of what B had before the sync.
			if msg := gitT(t, b, "log", "-1", "--format=%s"); msg != "kr: sync" && msg != "b's notes" {
				t.Errorf("HEAD is %q", msg)
			}
			if err := isAncestor(b, "origin/main", "HEAD"); err == nil {
				t.Errorf("HEAD contains upstream's commit: the rebase was not undone")
			}
			clean(t, b)
			wantBytes(t, b, tc.file, []byte("b\n"))
			wantBytes(t, b, "secrets/x.age", xb)
		})
	}
}

func isAncestor(dir, a, b string) error {
	_, err := gitErr(dir, "merge-base", "--is-ancestor", a, b)
	return err
}

func TestSyncVaultInSubfolder(t *testing.T) {
	tm := newTeam(t, "team/vault")
	a := tm.founded()
	b := tm.clone()
	// A file outside the vault is neither committed nor in the way.
	write(t, a, "../other.txt", []byte("not the vault's\n"))
	sa, sb := blob(t), blob(t)
	write(t, a, "secrets/a.age", sa)
	write(t, b, "secrets/b.age", sb)
	syncT(t, a)
	syncT(t, b)
	syncT(t, a)
	for _, v := range []string{a, b} {
		wantBytes(t, v, "secrets/a.age", sa)
		wantBytes(t, v, "secrets/b.age", sb)
	}
	files := gitT(t, a, "ls-files", "--full-name")
	want := "team/vault/.gitattributes\nteam/vault/secrets/a.age\nteam/vault/secrets/b.age\nteam/vault/vault.json"
	if files != want {
		t.Errorf("committed files:\n%s\nwant:\n%s", files, want)
	}
	if _, err := os.Stat(filepath.Join(top(t, a), ".gitattributes")); !os.IsNotExist(err) {
		t.Errorf(".gitattributes written at the top of the repository: %v", err)
	}
}

// A tracked file changed outside the vault would stop git pull: the sync
// refuses before committing anything.
func TestSyncRefusesDirtyOutside(t *testing.T) {
	tm := newTeam(t, "team/vault")
	a := tm.founded()
	write(t, a, "../other.txt", []byte("1\n"))
	gitT(t, a, "add", "../other.txt")
	gitT(t, a, "commit", "-q", "-m", "other")
	write(t, a, "../other.txt", []byte("2\n"))
	write(t, a, "secrets/a.age", blob(t))
	before := snapshot(t, a)
	_, err := Sync(context.Background(), opts(a))
	if err == nil || !strings.Contains(err.Error(), "outside the vault") {
		t.Fatalf("sync: %v, want a refusal", err)
	}
	if after := snapshot(t, a); after != before {
		t.Errorf("sync changed the clone:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestSyncExclude(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, ".lock", nil)
	write(t, a, ".kr-tmp-1234", []byte("half written"))
	write(t, a, "secrets/.kr-tmp-5678", []byte("half written"))
	write(t, a, "secrets/s.age", blob(t))
	syncT(t, a)
	files := gitT(t, a, "ls-tree", "-r", "--name-only", "HEAD")
	if files != ".gitattributes\nsecrets/s.age\nvault.json" {
		t.Errorf("committed files:\n%s", files)
	}
	for _, f := range []string{".lock", ".kr-tmp-1234", "secrets/.kr-tmp-5678"} {
		if read(t, a, f) == nil {
			t.Errorf("%s was removed", f)
		}
	}
}

// A clone with core.autocrlf=true keeps the bytes of text-like secrets
// exact, in its work tree and in what it commits.
func TestSyncAutoCRLF(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	lf := []byte("age-encryption.org/v1\n-> X25519 abc\nline\n--- def\npayload\n")
	mixed := []byte("age-encryption.org/v1\r\n-> X25519 abc\nline\r\n--- def\n")
	write(t, a, "secrets/lf.age", lf)
	write(t, a, "secrets/mixed.age", mixed)
	write(t, a, "vault.json", []byte("k1\nk2\n"))
	syncT(t, a)

	b := tm.clone("-c", "core.autocrlf=true")
	wantBytes(t, b, "secrets/lf.age", lf)
	wantBytes(t, b, "secrets/mixed.age", mixed)
	wantBytes(t, b, "vault.json", []byte("k1\nk2\n"))
	fromB := []byte("age-encryption.org/v1\n-> X25519 ghi\n--- jkl\n")
	write(t, b, "secrets/b.age", fromB)
	write(t, b, "vault.json", []byte("k1\nk2\nk3\n"))
	syncT(t, b)
	if got := gitT(t, b, "cat-file", "blob", "HEAD:secrets/b.age"); got+"\n" != string(fromB) {
		t.Errorf("committed %q, want %q", got, fromB)
	}
	syncT(t, a)
	wantBytes(t, a, "secrets/b.age", fromB)
	wantBytes(t, a, "vault.json", []byte("k1\nk2\nk3\n"))
	clean(t, b)
}

// With no identity configured, commits (and the rebase's) are kr's.
func TestSyncIdentityFallback(t *testing.T) {
	tm := newSerialTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	write(t, a, "secrets/a.age", blob(t))
	syncT(t, a)

	global := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tuseConfigOnly = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", global)
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "EMAIL"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if _, err := gitErr(b, "var", "GIT_COMMITTER_IDENT"); err == nil {
		t.Fatal("git has an identity: the test cannot check the fallback")
	}
	write(t, b, "secrets/b.age", blob(t))
	rb := syncT(t, b)
	if !rb.Committed || !rb.Pushed || rb.Pulled != 1 {
		t.Fatalf("B's sync: %+v", rb)
	}
	if who := gitT(t, b, "log", "-1", "--format=%an <%ae> %cn <%ce>"); who != "kr <kr@localhost> kr <kr@localhost>" {
		t.Errorf("last commit by %q", who)
	}
	if _, err := gitErr(b, "config", "user.name"); err == nil {
		t.Error("sync configured user.name")
	}
}

// cancelResolver cancels the sync while the rebase waits on its merge.
type cancelResolver struct {
	toyResolver
	cancel context.CancelFunc
}

func (r cancelResolver) Merge(rel string, base, upstream, local []byte) ([]byte, error) {
	r.cancel()
	return r.toyResolver.Merge(rel, base, upstream, local)
}

// A sync cancelled in the middle of a rebase undoes it.
func TestSyncCancelledMidRebase(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	b := tm.clone()
	write(t, a, "vault.json", []byte("k1\nk2\nk3\n"))
	syncT(t, a)
	write(t, b, "vault.json", []byte("k1\nk2\nk4\n"))
	xb := blob(t)
	write(t, b, "secrets/x.age", xb)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := opts(b)
	o.Resolver = cancelResolver{cancel: cancel}
	_, err := Sync(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sync: %v, want context.Canceled", err)
	}
	t.Log(err)
	if _, err := gitErr(b, "rev-parse", "-q", "--verify", "REBASE_HEAD"); err == nil {
		t.Error("a rebase is left in progress")
	}
	if err := isAncestor(b, "origin/main", "HEAD"); err == nil {
		t.Error("HEAD contains upstream's commit: the rebase was not undone")
	}
	clean(t, b)
	wantBytes(t, b, "vault.json", []byte("k1\nk2\nk4\n"))
	wantBytes(t, b, "secrets/x.age", xb)
	// The next sync finishes the job.
	if rb := syncT(t, b); !slices.Equal(rb.Merged, []string{"vault.json"}) || !rb.Pushed {
		t.Errorf("next sync: %+v", rb)
	}
}

func TestSyncRefusesDetachedHead(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	gitT(t, a, "checkout", "-q", "--detach")
	write(t, a, "secrets/a.age", blob(t))
	before := snapshot(t, a)
	_, err := Sync(context.Background(), opts(a))
	if err == nil || !strings.Contains(err.Error(), "detached") {
		t.Fatalf("sync: %v, want a refusal", err)
	}
	if after := snapshot(t, a); after != before {
		t.Errorf("sync changed the clone:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// With several remotes and no upstream, origin is the one; without origin
// the sync asks the user to choose.
func TestSyncSeveralRemotes(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.clone()
	other := filepath.Join(t.TempDir(), "other.git")
	gitT(t, ".", "init", "-q", "--bare", other)
	gitT(t, a, "remote", "add", "backup", other)
	write(t, a, "secrets/a.age", blob(t))
	if rep := syncT(t, a); !rep.Published {
		t.Fatalf("report %+v", rep)
	}
	if _, err := gitErr(tm.remote, "rev-parse", "-q", "--verify", "main"); err != nil {
		t.Errorf("origin did not get the branch: %v", err)
	}

	b := tm.clone()
	gitT(t, b, "remote", "rename", "origin", "first")
	gitT(t, b, "remote", "add", "second", other)
	gitT(t, b, "branch", "-q", "--unset-upstream")
	write(t, b, "secrets/b.age", blob(t))
	_, err := Sync(context.Background(), opts(b))
	if err == nil || !strings.Contains(err.Error(), "--set-upstream-to") {
		t.Fatalf("sync: %v, want a request to choose", err)
	}
}

// A vault whose secrets git ignores is refused: they would never be shared.
func TestSyncRefusesIgnoredSecrets(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, ".git/info/exclude", []byte("*.lock\nsecrets/\n"))
	write(t, a, "x.lock", nil)
	write(t, a, "secrets/a.age", blob(t))
	head := gitT(t, a, "rev-parse", "HEAD")
	_, err := Sync(context.Background(), opts(a))
	if err == nil || !strings.Contains(err.Error(), "secrets/a.age") || !strings.Contains(err.Error(), "ignored") {
		t.Fatalf("sync: %v, want a refusal naming secrets/", err)
	}
	if got := gitT(t, a, "rev-parse", "HEAD"); got != head {
		t.Error("sync committed")
	}
	// A .gitattributes sync has yet to write counts too.
	b := tm.clone()
	write(t, b, ".git/info/exclude", []byte(".gitattributes\n"))
	remove(t, b, ".gitattributes")
	gitT(t, b, "rm", "-q", "--cached", ".gitattributes")
	gitT(t, b, "commit", "-q", "-m", "no attributes")
	if _, err := Sync(context.Background(), opts(b)); err == nil || !strings.Contains(err.Error(), ".gitattributes is ignored") {
		t.Errorf("sync: %v, want a refusal naming .gitattributes", err)
	}
	if read(t, b, ".gitattributes") != nil {
		t.Error("a refused sync wrote .gitattributes")
	}
	// Other ignored files are no reason to refuse.
	write(t, a, ".git/info/exclude", []byte("*.lock\n"))
	write(t, a, ".lock", nil)
	if rep := syncT(t, a); !rep.Committed || !rep.Pushed {
		t.Errorf("report %+v", rep)
	}
}

// orderResolver records the order of Merge calls and treats scope files
// (.age-recipients) as mergeable too.
type orderResolver struct {
	toyResolver
	merged *[]string
}

func (r orderResolver) Mergeable(rel string) bool {
	return r.toyResolver.Mergeable(rel) || strings.HasSuffix(rel, "/.age-recipients")
}

func (r orderResolver) Merge(rel string, base, upstream, local []byte) ([]byte, error) {
	*r.merged = append(*r.merged, rel)
	return r.toyResolver.Merge(rel, base, upstream, local)
}

// vault.json is merged before the scope files, which sort before it.
func TestSyncMergesRootFirst(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/a/.age-recipients", []byte("k1\n"))
	syncT(t, a)
	b := tm.clone()
	write(t, a, "secrets/a/.age-recipients", []byte("k1\nk2\n"))
	write(t, a, "vault.json", []byte("k1\nk2\nk3\n"))
	syncT(t, a)
	write(t, b, "secrets/a/.age-recipients", []byte("k1\nk4\n"))
	write(t, b, "vault.json", []byte("k1\nk2\nk4\n"))
	var merged []string
	o := opts(b)
	o.Resolver = orderResolver{merged: &merged}
	rep := syncOpts(t, o)
	if want := []string{"vault.json", "secrets/a/.age-recipients"}; !slices.Equal(merged, want) || !slices.Equal(rep.Merged, want) {
		t.Errorf("merged %v, reported %v, want %v", merged, rep.Merged, want)
	}
	wantBytes(t, b, "secrets/a/.age-recipients", []byte("k1\nk2\nk4\n"))
	wantBytes(t, b, "vault.json", []byte("k1\nk2\nk3\nk4\n"))
}

// sameResolver holds secrets as "NONCE:VALUE": two files with one VALUE
// hold the same secret, as two encryptions of one value do.
type sameResolver struct{ toyResolver }

func (sameResolver) Same(_ context.Context, _ string, upstream, local []byte) bool {
	_, u, _ := bytes.Cut(upstream, []byte(":"))
	_, l, _ := bytes.Cut(local, []byte(":"))
	return bytes.Equal(u, l)
}

// Both clones re-encrypted the same value (each changed the recipients):
// no conflict copy; a changed value is still a conflict.
func TestSyncSameValueIsNoConflict(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/x.age", []byte("n0:v"))
	write(t, a, "secrets/y.age", []byte("n0:w"))
	syncT(t, a)
	b := tm.clone()
	write(t, a, "secrets/x.age", []byte("n1:v"))
	write(t, b, "secrets/x.age", []byte("n2:v"))
	write(t, a, "secrets/y.age", []byte("n1:w"))
	write(t, b, "secrets/y.age", []byte("n2:changed"))
	syncT(t, a)
	o := opts(b)
	o.Resolver = sameResolver{}
	rb := syncOpts(t, o)
	want := []Conflict{{Path: "secrets/y.age", KeptAs: "secrets/y.conflict-1.age", Kind: "both changed"}}
	if !slices.Equal(rb.Conflicts, want) {
		t.Fatalf("conflicts %+v, want %+v", rb.Conflicts, want)
	}
	wantBytes(t, b, "secrets/x.age", []byte("n1:v"))
	clean(t, b)
}

// Ignore writes the vault's .gitignore, committed with it: kr's lock and
// temp files never show in git status, in this clone or another.
func TestSyncIgnore(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, ".lock", nil)
	write(t, a, "secrets/.kr-tmp-5678", []byte("half written"))
	o := opts(a)
	o.Ignore = []string{"/.lock", ".kr-tmp-*"}
	syncOpts(t, o)
	if st := gitT(t, a, "status", "--porcelain"); st != "" {
		t.Fatalf("git status after sync:\n%s", st)
	}
	if !strings.Contains(gitT(t, a, "ls-tree", "-r", "--name-only", "HEAD"), ".gitignore") {
		t.Fatal(".gitignore not committed")
	}
	// Twice: the lines are not added again.
	syncOpts(t, o)
	if n := strings.Count(string(read(t, a, ".gitignore")), "/.lock"); n != 1 {
		t.Fatalf(".gitignore lists /.lock %d times", n)
	}
}

// A conflicting file larger than any vault file is refused before it is
// read into memory, and the clone is left as it was.
func TestSyncRefusesHugeConflict(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "secrets/x.age", blob(t))
	syncT(t, a)
	b := tm.clone()
	write(t, a, "secrets/x.age", make([]byte, maxBlob+1))
	syncT(t, a)
	write(t, b, "secrets/x.age", blob(t))
	_, err := Sync(context.Background(), opts(b))
	if err == nil || !strings.Contains(err.Error(), "more than a vault file can hold") {
		t.Fatalf("Sync = %v", err)
	}
	if st := gitT(t, b, "status", "--porcelain"); st != "" {
		t.Fatalf("status after the refusal:\n%s", st)
	}
}

// Sync commits only the files kr owns. Others in the vault directory (an
// exported app.env, a CI key) stay out of the repository and are reported
// once; one that git already tracks is left as it is, and reported.
func TestSyncCommitsOnlyKrFiles(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	write(t, a, "app.env", []byte("TOKEN=s3cr3t\n"))
	write(t, a, "ci.key", []byte("AGE-SECRET-KEY-1...\n"))
	write(t, a, "secrets/notes.txt", []byte("n\n"))
	write(t, a, "secrets/s.age", blob(t))
	write(t, a, "secrets/p/.age-recipients", []byte("k1\n"))
	rep := syncT(t, a)
	if !rep.Pushed {
		t.Fatalf("sync: %+v, want Pushed", rep)
	}
	if want := []string{"app.env", "ci.key", "secrets/notes.txt"}; !slices.Equal(rep.NotSynced, want) {
		t.Errorf("NotSynced = %q, want %q", rep.NotSynced, want)
	}
	remote := gitT(t, ".", "--git-dir", tm.remote, "ls-tree", "-r", "--name-only", "HEAD")
	if want := ".gitattributes\nsecrets/p/.age-recipients\nsecrets/s.age\nvault.json"; remote != want {
		t.Errorf("the remote holds:\n%s\nwant:\n%s", remote, want)
	}
	// Reported once: the next sync says nothing of them.
	write(t, a, "secrets/t.age", blob(t))
	if rep := syncT(t, a); len(rep.NotSynced) != 0 || len(rep.TrackedStrays) != 0 {
		t.Errorf("second sync reports %q, %q", rep.NotSynced, rep.TrackedStrays)
	}
	// A file git tracks already (committed by hand, or by an older kr):
	// left alone, reported; changed, it stops the sync before any commit.
	write(t, a, "old.txt", []byte("1\n"))
	gitT(t, a, "add", "old.txt")
	gitT(t, a, "commit", "-q", "-m", "by hand")
	if rep := syncT(t, a); !slices.Equal(rep.TrackedStrays, []string{"old.txt"}) || len(rep.NotSynced) != 0 {
		t.Errorf("after a commit by hand: NotSynced %q, TrackedStrays %q", rep.NotSynced, rep.TrackedStrays)
	}
	write(t, a, "old.txt", []byte("2\n"))
	write(t, a, "secrets/u.age", blob(t))
	head := gitT(t, a, "rev-parse", "HEAD")
	if _, err := Sync(context.Background(), opts(a)); err == nil || !strings.Contains(err.Error(), "old.txt") {
		t.Fatalf("sync with old.txt changed: %v, want a refusal naming it", err)
	}
	if got := gitT(t, a, "rev-parse", "HEAD"); got != head {
		t.Error("the refused sync committed")
	}
	wantBytes(t, a, "old.txt", []byte("2\n"))
}

// Attributes that would let git convert a secret's bytes stop the sync,
// naming where they are set, wherever that is: a line pushed upstream to
// the vault's .gitattributes (later lines win over kr's), this clone's
// info/attributes, the user's core.attributesFile. No mangled secret
// reaches the remote.
func TestSyncRefusesConvertingAttributes(t *testing.T) {
	crlf := []byte("*.age text eol=crlf\n")
	t.Run("upstream .gitattributes", func(t *testing.T) {
		tm := newTeam(t, "")
		a := tm.founded()
		b := tm.clone()
		write(t, a, ".gitattributes", append(read(t, a, ".gitattributes"), crlf...))
		gitT(t, a, "commit", "-q", "-am", "attributes")
		gitT(t, a, "push", "-q")
		upstream := gitT(t, a, "rev-parse", "HEAD")
		sec := []byte("age-encryption.org/v1\n-> X25519 abc\n--- def\n\x00payload\n")
		write(t, b, "secrets/s.age", sec)
		_, err := Sync(context.Background(), opts(b))
		var ae *AttributesError
		if !errors.As(err, &ae) || ae.Fetched == "" || !strings.Contains(err.Error(), ".gitattributes:") || !strings.Contains(err.Error(), "eol=crlf") {
			t.Fatalf("sync: %v, want a refusal naming .gitattributes", err)
		}
		t.Log(err)
		if got := gitT(t, ".", "--git-dir", tm.remote, "rev-parse", "HEAD"); got != upstream {
			t.Error("the refused sync pushed")
		}
		wantBytes(t, b, "secrets/s.age", sec)
	})
	t.Run("info/attributes", func(t *testing.T) {
		tm := newTeam(t, "")
		a := tm.founded()
		write(t, a, ".git/info/attributes", crlf)
		write(t, a, "secrets/s.age", blob(t))
		head := gitT(t, ".", "--git-dir", tm.remote, "rev-parse", "HEAD")
		_, err := Sync(context.Background(), opts(a))
		var ae *AttributesError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), "info/attributes:1: *.age text eol=crlf") {
			t.Fatalf("sync: %v, want a refusal naming info/attributes", err)
		}
		if got := gitT(t, ".", "--git-dir", tm.remote, "rev-parse", "HEAD"); got != head {
			t.Error("the refused sync pushed")
		}
		if st := gitT(t, a, "status", "--porcelain", "--", "secrets"); !strings.Contains(st, "?? secrets/") {
			t.Errorf("the secret was committed: %q", st)
		}
	})
	t.Run("core.attributesFile", func(t *testing.T) {
		tm := newTeam(t, "")
		a := tm.founded()
		global := filepath.Join(t.TempDir(), "attributes")
		if err := os.WriteFile(global, []byte("*.age filter=lfs\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		gitT(t, a, "config", "core.attributesFile", global)
		write(t, a, "secrets/s.age", blob(t))
		_, err := Sync(context.Background(), opts(a))
		if err == nil || !strings.Contains(err.Error(), global+":1: *.age filter=lfs") {
			t.Fatalf("sync: %v, want a refusal naming %s", err, global)
		}
	})
}
