package filevault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// team is a shared vault read by alice's key held in the process (as with
// KR_IDENTITY), with bob and carol as keys to add.
type team struct {
	v                  *Vault
	alice, bob, carol  *age.X25519Identity
	aliceK, bobK, carK string
}

func newTeam(t testing.TB) *team {
	t.Helper()
	tm := &team{}
	for _, p := range []**age.X25519Identity{&tm.alice, &tm.bob, &tm.carol} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		*p = id
	}
	tm.aliceK, tm.bobK, tm.carK = tm.alice.Recipient().String(), tm.bob.Recipient().String(), tm.carol.Recipient().String()
	v, err := Open(Options{Dir: filepath.Join(t.TempDir(), "team"),
		Decrypter: &KeyDecrypter{Identities: []age.Identity{tm.alice}, Source: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.InitShared(context.Background(), "alice", tm.aliceK); err != nil {
		t.Fatal(err)
	}
	tm.v = v
	return tm
}

// opens reports whether id decrypts the secret file of name, as stock age
// would (age's own Decrypt, no kr code).
func (tm *team) opens(t *testing.T, id age.Identity, name string) bool {
	t.Helper()
	ct, err := os.ReadFile(tm.v.secretPath(name))
	if err != nil {
		t.Fatal(err)
	}
	_, err = age.Decrypt(bytes.NewReader(ct), id)
	var nm *age.NoIdentityMatchError
	if err != nil && !errors.As(err, &nm) {
		t.Fatalf("%s: %v", name, err)
	}
	return err == nil
}

// withProd adds bob and carol as members and writes the secret name.
func (tm *team) withProd(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	for _, k := range []struct{ n, k string }{{"bob", tm.bobK}, {"carol", tm.carK}} {
		if _, err := tm.v.AddRecipient(ctx, k.n, k.k); err != nil {
			t.Fatal(err)
		}
	}
	if err := tm.v.Set(ctx, name, []byte("v")); err != nil {
		t.Fatal(err)
	}
}

func (tm *team) record(t *testing.T, name string) []string {
	t.Helper()
	ct, err := os.ReadFile(tm.v.secretPath(name))
	if err != nil {
		t.Fatal(err)
	}
	keys, ok, err := readRecord(ct)
	if err != nil || !ok {
		t.Fatalf("%s: record %v, %v", name, ok, err)
	}
	return keys
}

func TestRecordInHeader(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if err := tm.v.Set(ctx, "db/pass", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if got := tm.record(t, "db/pass"); !slices.Equal(got, []string{tm.aliceK}) {
		t.Fatalf("record = %q", got)
	}
	if !tm.opens(t, tm.alice, "db/pass") || tm.opens(t, tm.bob, "db/pass") {
		t.Fatal("wrong readers")
	}
	// A file stock age wrote has no record, and that is not an error.
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, tm.alice.Recipient())
	w.Write([]byte("x"))
	w.Close()
	if keys, ok, err := readRecord(buf.Bytes()); ok || err != nil || keys != nil {
		t.Fatalf("no record: %q %v %v", keys, ok, err)
	}
}

func TestAddMemberReencryptsOutsideScopes(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	for _, n := range []string{"dev/a", "dev/b", "prod/db", "prod/deep/key", "top"} {
		if err := tm.v.Set(ctx, n, []byte("value of "+n)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK}); err != nil {
		t.Fatal(err)
	}
	n, err := tm.v.AddRecipient(ctx, "bob", tm.bobK)
	if err != nil || n != 3 {
		t.Fatalf("AddRecipient = %d, %v; want the 3 secrets outside prod/", n, err)
	}
	for _, name := range []string{"dev/a", "dev/b", "top"} {
		if !tm.opens(t, tm.bob, name) {
			t.Errorf("bob cannot read %s", name)
		}
	}
	for _, name := range []string{"prod/db", "prod/deep/key"} {
		if tm.opens(t, tm.bob, name) {
			t.Errorf("bob reads %s, outside his scope", name)
		}
	}
	// A secret written into the scope later stays inside it too.
	if err := tm.v.Set(ctx, "prod/new", []byte("n")); err != nil {
		t.Fatal(err)
	}
	if tm.opens(t, tm.bob, "prod/new") || !tm.opens(t, tm.alice, "prod/new") {
		t.Fatal("prod/new has the wrong readers")
	}
	ms, err := tm.v.Members()
	if err != nil || len(ms) != 2 || ms[1] != (Member{"bob", tm.bobK}) {
		t.Fatalf("Members = %+v, %v", ms, err)
	}
	// The scope file is one age -R reads.
	b, err := os.ReadFile(filepath.Join(tm.v.folderDir("prod"), scopeFile))
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := age.ParseRecipients(bytes.NewReader(b)); err != nil || len(rs) != 1 {
		t.Fatalf("age.ParseRecipients(scope) = %d, %v", len(rs), err)
	}
	// Names are unique, and a shared vault's members have one.
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.carK); err == nil {
		t.Fatal("a second bob was added")
	}
	if _, err := tm.v.AddRecipient(ctx, "", tm.carK); err == nil {
		t.Fatal("a nameless member was added to a shared vault")
	}
}

func TestRemoveMemberListsWhatTheyCouldRead(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.AddRecipient(ctx, "carol", tm.carK); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"dev/a", "ops/x", "ops/y"} {
		if err := tm.v.Set(ctx, n, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tm.v.SetScope(ctx, "ops", []string{tm.aliceK, tm.carK}); err != nil {
		t.Fatal(err)
	}
	if tm.opens(t, tm.bob, "ops/x") {
		t.Fatal("bob reads ops/x after the scope")
	}
	readable, err := tm.v.RemoveRecipient(ctx, tm.bobK)
	if err != nil || !slices.Equal(readable, []string{"dev/a"}) {
		t.Fatalf("RemoveRecipient(bob) = %q, %v; want only dev/a (ops/ was out of his scope)", readable, err)
	}
	readable, err = tm.v.RemoveRecipient(ctx, tm.carK)
	if err != nil || !slices.Equal(readable, []string{"dev/a", "ops/x", "ops/y"}) {
		t.Fatalf("RemoveRecipient(carol) = %q, %v", readable, err)
	}
	for _, n := range []string{"dev/a", "ops/x", "ops/y"} {
		if tm.opens(t, tm.carol, n) || tm.opens(t, tm.bob, n) || !tm.opens(t, tm.alice, n) {
			t.Errorf("%s: wrong readers after the removals", n)
		}
	}
	scopes, err := tm.v.Scopes()
	if err != nil || len(scopes) != 1 || !slices.Equal(scopes[0].Keys, []string{tm.aliceK}) {
		t.Fatalf("Scopes = %+v, %v; want ops/ with alice alone", scopes, err)
	}
	// In a signed vault a scope must keep whoever sets it.
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.SetScope(ctx, "ops", []string{tm.bobK}); err == nil || !strings.Contains(err.Error(), "leave you out") {
		t.Fatalf("a scope without its setter: %v", err)
	}
	// The last member of a scope cannot go while the scope stays (an
	// unsigned vault, where a scope may leave its setter out).
	unsign(t, tm.v)
	if _, err := tm.v.RemoveRecipient(ctx, tm.bobK); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.SetScope(ctx, "ops", []string{tm.bobK}); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.RemoveRecipient(ctx, tm.bobK); !errors.Is(err, ErrLastRecipient) {
		t.Fatalf("removing a scope's last member: %v", err)
	}
}

// C writes a secret encrypted to the recipients C knows while A adds B:
// once both are merged, Reconcile re-encrypts it so that B reads it.
func TestReconcileAfterConcurrentAdd(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if err := tm.v.Set(ctx, "old", []byte("v")); err != nil {
		t.Fatal(err)
	}
	before, err := tm.v.manifest()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	// What the merge brings: C's write of old, signed at the epoch C knew
	// and encrypted to alice alone (alice's key stands in for C's).
	w, err := tm.v.signer(ctx, before)
	if err != nil {
		t.Fatal(err)
	}
	cplain, err := w.plaintext(before, "old", 5, []string{tm.aliceK}, []byte("c's"))
	if err != nil {
		t.Fatal(err)
	}
	stale, err := encryptTo(cplain, []string{tm.aliceK})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tm.v.secretPath("old"), stale, 0o600); err != nil {
		t.Fatal(err)
	}
	// And a file alice cannot read, written to carol... by someone who
	// had her key: Reconcile reports it instead of failing.
	plain := format.SecretPlaintext("foreign", []byte("f"))
	ct, err := encryptTo(plain, []string{tm.carK})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tm.v.secretPath("foreign"), ct, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := tm.v.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Reencrypted, []string{"old"}) || !slices.Equal(r.Unreadable, []string{"foreign"}) {
		t.Fatalf("Reconcile = %+v", r)
	}
	if !tm.opens(t, tm.bob, "old") {
		t.Fatal("bob cannot read what C wrote")
	}
	// Nothing left to do the second time.
	if r, err := tm.v.Reconcile(ctx); err != nil || len(r.Reencrypted) != 0 {
		t.Fatalf("second Reconcile = %+v, %v", r, err)
	}
}

// A scope merged from a clone that still lists a removed member loses it.
func TestReconcileDropsRemovedFromScopes(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.Set(ctx, "ops/x", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.SetScope(ctx, "ops", []string{tm.aliceK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	scope := filepath.Join(tm.v.folderDir("ops"), scopeFile)
	before, _ := os.ReadFile(scope)
	if _, err := tm.v.RemoveRecipient(ctx, tm.bobK); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scope, before, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.Set(ctx, "ops/y", []byte("v")); err == nil {
		t.Fatal("Set encrypted to a scope naming a removed member")
	}
	r, err := tm.v.Reconcile(ctx)
	if err != nil || !slices.Equal(r.Scopes, []string{"ops"}) {
		t.Fatalf("Reconcile = %+v, %v", r, err)
	}
	if err := tm.v.Set(ctx, "ops/y", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if tm.opens(t, tm.bob, "ops/y") {
		t.Fatal("bob reads ops/y")
	}
}

// A sync keeps the local side of a conflict as NAME.conflict-N: the file
// is copied as is, still bound to NAME, and reads under its new name.
func TestConflictCopyReads(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if err := tm.v.Set(ctx, "db/pass", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	ct, _ := os.ReadFile(tm.v.secretPath("db/pass"))
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"db/pass.conflict-1", true}, {"db/pass.conflict-12", true}, {"db/pass.conflict-0", false}, {"db/pass.conflict-x", false}, {"db/other", false}} {
		if err := os.WriteFile(tm.v.secretPath(tc.name), ct, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := tm.v.Get(ctx, tc.name)
		if tc.ok && (err != nil || string(got) != "mine") {
			t.Errorf("Get(%s) = %q, %v", tc.name, got, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("Get(%s) read a file bound to db/pass", tc.name)
		}
	}
}

// Whoever can push could add themselves to a scope, or delete it: the next
// member to sync or write would then re-encrypt its secrets for them. kr
// widens a scope only on the local user's word.
func TestScopeWideningNeedsAcceptance(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "prod/x")
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK, tm.carK}); err != nil {
		t.Fatal(err)
	}
	scope := filepath.Join(tm.v.folderDir("prod"), scopeFile)
	stopped := func(what string, wantRemoved bool) {
		t.Helper()
		_, err := tm.v.Reconcile(ctx)
		var ue *UnacceptedError
		if !errors.As(err, &ue) || ue.Folder != "prod" || ue.Removed != wantRemoved {
			t.Fatalf("%s: Reconcile = %v", what, err)
		}
		if err := tm.v.Set(ctx, "prod/y", []byte("v")); !errors.Is(err, ErrUnacceptedRecipient) {
			t.Fatalf("%s: Set = %v", what, err)
		}
		if tm.opens(t, tm.bob, "prod/x") {
			t.Fatalf("%s: bob reads prod/x", what)
		}
		p, err := tm.v.PendingScopes()
		if err != nil || len(p) != 1 || p[0].Folder != "prod" || p[0].Removed != wantRemoved {
			t.Fatalf("%s: PendingScopes = %+v, %v", what, p, err)
		}
	}

	// bob, with push access, adds himself.
	if err := tm.writeScope(tm.bob, "prod", []string{tm.aliceK, tm.carK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	stopped("bob added to the scope", false)
	// bob deletes the scope instead.
	if err := os.Remove(scope); err != nil {
		t.Fatal(err)
	}
	stopped("scope deleted", true)
	// A new scope nearer the secrets, with bob in it, is a widening too.
	if err := tm.writeScope(tm.bob, "prod", []string{tm.aliceK, tm.carK}); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.Set(ctx, "prod/sub/z", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := tm.writeScope(tm.bob, "prod/sub", []string{tm.aliceK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.Reconcile(ctx); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("new nested scope with bob: Reconcile = %v", err)
	}
	if tm.opens(t, tm.bob, "prod/sub/z") {
		t.Fatal("bob reads prod/sub/z")
	}
	// Accepted, the change goes through.
	if err := tm.v.AcceptScope("prod/sub"); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if !tm.opens(t, tm.bob, "prod/sub/z") || tm.opens(t, tm.bob, "prod/x") {
		t.Fatal("wrong readers after accepting prod/sub")
	}
	// Narrowing needs no word: carol taken out of prod upstream.
	if err := tm.writeScope(tm.bob, "prod", []string{tm.aliceK}); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.Reconcile(ctx); err != nil {
		t.Fatalf("narrowing: %v", err)
	}
	if tm.opens(t, tm.carol, "prod/x") {
		t.Fatal("carol still reads prod/x")
	}
}

// Removing a member rewrites the scopes they were in: what stays must be
// accepted, or a member a pusher slipped into the scope rides along.
func TestRemoveMemberKeepsScopeUnwidened(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "prod/x")
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK, tm.bobK}); err != nil {
		t.Fatal(err)
	}
	// carol, who may push, adds herself to prod/.
	if err := tm.writeScope(tm.carol, "prod", []string{tm.aliceK, tm.bobK, tm.carK}); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.RemoveRecipient(ctx, tm.bobK); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("RemoveRecipient(bob) with carol pending in prod/: %v", err)
	}
	if tm.opens(t, tm.carol, "prod/x") {
		t.Fatal("carol reads prod/x")
	}
}

// SetMany stores everything or nothing: a blocked file (something else
// put in the vault where a value goes) stops the batch before any value is
// replaced.
func TestSetManyAllOrNone(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	if _, err := tm.v.AddRecipient(ctx, "bob", tm.bobK); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.Set(ctx, "a", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.SetScope(ctx, "ops", []string{tm.aliceK}); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "ops/b", "dev/c"}
	values := [][]byte{[]byte("new a"), []byte("b"), []byte("c")}
	// A folder where dev/c's file goes (a symlink does the same, where
	// the OS lets a test make one).
	if err := os.MkdirAll(tm.v.secretPath("dev/c"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.SetMany(ctx, names, values); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("SetMany over a folder: %v", err)
	}
	if got, err := tm.v.Get(ctx, "a"); err != nil || string(got) != "old" {
		t.Fatalf("a after the refused batch: %q, %v", got, err)
	}
	if has, _ := tm.v.Has(ctx, "ops/b"); has {
		t.Fatal("ops/b written by a refused batch")
	}
	if err := os.Remove(tm.v.secretPath("dev/c")); err != nil {
		t.Fatal(err)
	}
	if err := tm.v.SetMany(ctx, names, values); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		if got, err := tm.v.Get(ctx, n); err != nil || string(got) != string(values[i]) {
			t.Fatalf("Get(%s) = %q, %v", n, got, err)
		}
	}
	// Each file went to the set that governs it.
	if tm.opens(t, tm.bob, "ops/b") || !tm.opens(t, tm.bob, "dev/c") {
		t.Fatal("SetMany ignored the scope")
	}
}

// unsign turns v's signed vault.json into an unsigned one (version 2),
// members and names kept, as an older kr wrote it.
func unsign(t *testing.T, v *Vault) {
	t.Helper()
	m, err := v.manifest()
	if err != nil {
		t.Fatal(err)
	}
	u := &format.Manifest{Version: format.SharedVersion, Recipients: m.Recipients, Names: m.Names}
	v.opts.State = &memoryState{} // a clone that never saw it signed
	if err := writeManifest(v.path(manifestFile), u); err != nil {
		t.Fatal(err)
	}
}

// writeScope writes folder's scope as the member by signs it, as their kr
// would: a member with push access changing a scope.
func (tm *team) writeScope(by *age.X25519Identity, folder string, keys []string) error {
	m, err := tm.v.manifest()
	if err != nil {
		return err
	}
	b, err := format.SignedScope(m.VaultID, folder, keys, nil, m.Epoch, by.Recipient().String(),
		func(msg []byte) ([]byte, error) { return signWith(by, msg) })
	if err != nil {
		return err
	}
	if err := os.MkdirAll(tm.v.folderDir(folder), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tm.v.folderDir(folder), scopeFile), b, 0o600)
}

// opensIfExists is opens for a name that may not have been written.
func (tm *team) opensIfExists(t *testing.T, id age.Identity, name string) bool {
	t.Helper()
	if _, err := os.Stat(tm.v.secretPath(name)); errors.Is(err, os.ErrNotExist) {
		return false
	}
	return tm.opens(t, id, name)
}
