package filevault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// cloneOf opens the vault of tm as another member's clone: its own state
// and record, reading with id and trusting the keys in trusted.
func cloneOf(t *testing.T, dir string, id *age.X25519Identity, trusted ...string) *Vault {
	t.Helper()
	v, err := Open(Options{Dir: dir, Decrypter: &KeyDecrypter{Identities: []age.Identity{id}, Source: "test"},
		AcceptAlso: func() ([]string, error) { return trusted, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func refusedWith(t *testing.T, err error, what string) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.What, what) {
		t.Fatalf("got %v; want a refusal saying %q", err, what)
	}
}

// A non-member who can push makes db/prod with kr itself, in a scratch
// vault whose recipients are the team's keys: a member's read refuses it.
func TestSignedRefusesSubstitution(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	mallory, _ := age.GenerateX25519Identity()
	scratch, err := Open(Options{Dir: filepath.Join(t.TempDir(), "scratch"),
		Decrypter:  &KeyDecrypter{Identities: []age.Identity{mallory}, Source: "test"},
		AcceptAlso: func() ([]string, error) { return []string{tm.aliceK, tm.bobK, tm.carK}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := scratch.InitShared(ctx, "alice", mallory.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct{ n, k string }{{"bob", tm.bobK}, {"carol", tm.carK}} {
		if _, err := scratch.AddRecipient(ctx, k.n, k.k); err != nil {
			t.Fatal(err)
		}
	}
	if err := scratch.Set(ctx, "db/prod", []byte("evil")); err != nil {
		t.Fatal(err)
	}
	evil, _ := os.ReadFile(scratch.secretPath("db/prod"))
	if err := os.WriteFile(tm.v.secretPath("db/prod"), evil, 0o600); err != nil {
		t.Fatal(err)
	}
	bob := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	got, err := bob.Get(ctx, "db/prod")
	if got != nil {
		t.Fatalf("served %q", got)
	}
	refusedWith(t, err, "signed for another vault")
	if !errors.Is(err, ErrRefused) {
		t.Fatal("not ErrRefused")
	}
	// Not signed at all (stock age to the team's keys): refused too.
	ct, err := encryptTo(format.SecretPlaintext("db/prod", []byte("evil")), []string{tm.aliceK, tm.bobK, tm.carK})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(tm.v.secretPath("db/prod"), ct, 0o600)
	_, err = bob.Get(ctx, "db/prod")
	refusedWith(t, err, "not signed")
	r, err := bob.Verify(ctx)
	if err != nil || len(r.Problems) != 1 {
		t.Fatalf("Verify = %+v, %v", r, err)
	}
}

// After a rotation, the old file committed again is older than what the
// clone has seen.
func TestSignedRefusesRollback(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	bob := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	if _, err := bob.Get(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(tm.v.secretPath("db/prod"))
	if err := tm.v.Set(ctx, "db/prod", []byte("rotated")); err != nil {
		t.Fatal(err)
	}
	if got, err := bob.Get(ctx, "db/prod"); err != nil || string(got) != "rotated" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	os.WriteFile(tm.v.secretPath("db/prod"), old, 0o600)
	_, err := bob.Get(ctx, "db/prod")
	refusedWith(t, err, "older than the version this clone has seen")
	// A clone with no history cannot tell: it never saw the newer one.
	fresh := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	if got, err := fresh.Get(ctx, "db/prod"); err != nil || string(got) != "v" {
		t.Fatalf("fresh clone: %q, %v", got, err)
	}
	// The next write goes above both.
	os.WriteFile(tm.v.secretPath("db/prod"), old, 0o600)
	if err := bob.Set(ctx, "db/prod", []byte("bob's")); err != nil {
		t.Fatal(err)
	}
	if got, err := tm.v.Get(ctx, "db/prod"); err != nil || string(got) != "bob's" {
		t.Fatalf("alice after bob's write: %q, %v", got, err)
	}
}

// A member inside a scope writes there and it reads; a member outside it
// cannot write there, and a file they sign for it is refused.
func TestSignedScopeWriters(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "prod/db")
	if _, err := tm.v.SetScope(ctx, "prod", []string{tm.aliceK, tm.carK}); err != nil {
		t.Fatal(err)
	}
	carol := cloneOf(t, tm.v.Dir(), tm.carol, tm.aliceK)
	if err := carol.AcceptScope("prod"); err != nil {
		t.Fatal(err)
	}
	if err := carol.Set(ctx, "prod/db", []byte("carol's")); err != nil {
		t.Fatal(err)
	}
	if got, err := tm.v.Get(ctx, "prod/db"); err != nil || string(got) != "carol's" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	bob := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	if err := bob.AcceptScope("prod"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Set(ctx, "prod/x", []byte("bob's")); err == nil || !strings.Contains(err.Error(), "you do not read") {
		t.Fatalf("bob's write into prod/: %v", err)
	}
	// Bob signs a prod/ file himself, encrypted to prod/'s readers.
	m, _ := bob.manifest()
	w, err := bob.signer(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := w.plaintext(m, "prod/x", 1, []string{tm.aliceK, tm.carK}, []byte("bob's"))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := encryptTo(plain, []string{tm.aliceK, tm.carK})
	os.WriteFile(tm.v.secretPath("prod/x"), ct, 0o600)
	_, err = tm.v.Get(ctx, "prod/x")
	refusedWith(t, err, "does not read the folder")
}

// A pusher adds a well-formed member entry no member signed: a fresh
// clone trusting the founder does not accept it, and writes stop naming
// it; the changed list is refused on read.
func TestSignedUnsignedMember(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	mallory, _ := age.GenerateX25519Identity()
	mk := mallory.Recipient().String()
	m, _ := tm.v.manifest()
	m.Recipients = append(m.Recipients, mk)
	m.Names[mk] = "mallory"
	if err := m.SignEntry(mk, mk, func(msg []byte) ([]byte, error) { return signWith(mallory, msg) }); err != nil {
		t.Fatal(err)
	}
	if err := writeManifest(tm.v.path(manifestFile), m); err != nil {
		t.Fatal(err)
	}
	fresh := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	un, err := fresh.UnacceptedRecipients()
	if err != nil || len(un) != 1 || un[0] != mk {
		t.Fatalf("UnacceptedRecipients = %q, %v", un, err)
	}
	err = fresh.Set(ctx, "b", []byte("x"))
	var ue *UnacceptedError
	if !errors.As(err, &ue) || ue.Recipients[0] != mk {
		t.Fatalf("Set = %v; want a stop naming mallory", err)
	}
	_, err = fresh.Get(ctx, "db/prod")
	refusedWith(t, err, "signature does not match")
	// Everyone else the founder's signatures lead to is accepted.
	for _, k := range []string{tm.aliceK, tm.bobK, tm.carK} {
		if !m.Chain([]string{tm.aliceK})[k] {
			t.Errorf("%s not reached from the founder", k)
		}
	}
}

// A byte changed after signing (a filter, a bad merge) in a value its
// writer signed breaks the signature even where age still decrypts: here,
// the recipient record of the header.
func TestSignedRecordCovered(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	// Re-encrypt alice's signed plaintext to alice alone: the value and
	// signature are intact, the recipients are not what was signed.
	ct, _ := os.ReadFile(tm.v.secretPath("db/prod"))
	r, err := age.Decrypt(bytes.NewReader(ct), tm.alice)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	plain.ReadFrom(r)
	ct2, _ := encryptTo(plain.Bytes(), []string{tm.aliceK})
	os.WriteFile(tm.v.secretPath("db/prod"), ct2, 0o600)
	_, err = tm.v.Get(ctx, "db/prod")
	refusedWith(t, err, "does not match its name, recipients or value")
}

// A removed member who can still push puts their old entry back, which the
// founder signed while they were a member, and signs the list themselves.
// The chain alone reaches them again; a clone that saw the list without
// them refuses the list, so its next write does not encrypt to them.
func TestSignedRefusesRemovedMemberReplay(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	old, err := tm.v.manifest()
	if err != nil {
		t.Fatal(err)
	}
	bob := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	if _, err := bob.Get(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.RemoveRecipient(ctx, tm.carK); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Get(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	m, err := tm.v.manifest()
	if err != nil {
		t.Fatal(err)
	}
	m.Recipients = append(m.Recipients, tm.carK)
	m.Names[tm.carK] = "carol"
	m.Entries[tm.carK] = old.Entries[tm.carK]
	m.Epoch++
	if err := m.SignList(tm.carK, func(msg []byte) ([]byte, error) { return signWith(tm.carol, msg) }); err != nil {
		t.Fatal(err)
	}
	if !m.Chain([]string{tm.aliceK})[tm.carK] || m.CheckList(m.Chain([]string{tm.aliceK})) != nil {
		t.Fatal("the replayed list does not hold by its signatures alone; the test shows nothing")
	}
	if err := writeManifest(tm.v.path(manifestFile), m); err != nil {
		t.Fatal(err)
	}
	_, err = bob.Get(ctx, "db/prod")
	refusedWith(t, err, "carol")
	refusedWith(t, err, "saw removed")
	if err := bob.Set(ctx, "db/new", []byte("x")); err == nil {
		t.Fatal("a write went out to a list holding a removed member")
	}
	if tm.opensIfExists(t, tm.carol, "db/new") {
		t.Fatal("the removed member reads the new write")
	}
}

// A member removed and then added again by a member is signed anew, after
// the removal: a clone that saw the removal takes them back.
func TestSignedMemberAddedAgain(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	tm.withProd(t, "db/prod")
	bob := cloneOf(t, tm.v.Dir(), tm.bob, tm.aliceK)
	if _, err := tm.v.RemoveRecipient(ctx, tm.carK); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Get(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.v.AddRecipient(ctx, "carol", tm.carK); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Get(ctx, "db/prod"); err != nil {
		t.Fatalf("after carol was added again: %v", err)
	}
	if err := bob.Set(ctx, "db/new", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if !tm.opens(t, tm.carol, "db/new") {
		t.Fatal("carol, added again, does not read a new write")
	}
}
