package filevault

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/recipients"
)

// addToManifest appends a recipient to vault.json by hand, as someone
// with write access to a shared vault (a git remote) could.
func addToManifest(t *testing.T, v *Vault, recipient string) {
	t.Helper()
	b, err := os.ReadFile(v.path(manifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m format.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Recipients = append(m.Recipients, recipient)
	if err := writeManifest(v.path(manifestFile), &m); err != nil {
		t.Fatal(err)
	}
}

// readableBy lists the secret files id can decrypt.
func readableBy(t *testing.T, v *Vault, id age.Identity) []string {
	t.Helper()
	var got []string
	filepath.WalkDir(v.path(secretsDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decryptLimited(ct, maxCiphertext, id); err == nil {
			got = append(got, v.rel(p))
		}
		return nil
	})
	return got
}

func TestForeignRecipientNotHonoured(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	if err := v.Set(ctx, "db/prod", []byte("old")); err != nil {
		t.Fatal(err)
	}
	attacker, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	addToManifest(t, v, attacker.Recipient().String())
	before := snapshot(t, v.path(secretsDir))

	err = v.Set(ctx, "db/prod", []byte("new"))
	if err == nil || !strings.Contains(err.Error(), recipients.Fingerprint(attacker.Recipient().String())) {
		t.Errorf("Set with an unaccepted recipient: %v; want an error naming its fingerprint", err)
	}
	if !errors.Is(err, ErrUnacceptedRecipient) {
		t.Errorf("the error is not ErrUnacceptedRecipient: %v", err)
	}
	if err := v.Set(ctx, "other", []byte("new")); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Errorf("Set of a new name with an unaccepted recipient: %v", err)
	}
	if after := snapshot(t, v.path(secretsDir)); after != before {
		t.Error("a refused Set changed secrets/")
	}
	if got := readableBy(t, v, attacker); len(got) != 0 {
		t.Errorf("the unaccepted recipient can read %q", got)
	}
	// Reading is not affected.
	if got, err := v.Get(ctx, "db/prod"); err != nil || string(got) != "old" {
		t.Errorf("Get = %q, %v", got, err)
	}
}

func openWithRecord(t *testing.T, dir string, rec AcceptedRecipients) *Vault {
	t.Helper()
	v, err := Open(Options{
		Dir:              dir,
		ScryptWorkFactor: 10,
		Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
			return []byte(testPass), nil
		}},
		Create:   func(context.Context) ([]byte, error) { return []byte(testPass), nil },
		Accepted: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAcceptRecipient(t *testing.T) {
	rec := &recipients.Record{Path: filepath.Join(t.TempDir(), "config", recipients.FileName)}
	v := openWithRecord(t, filepath.Join(t.TempDir(), "vault"), rec)
	ctx := context.Background()
	if err := v.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	id, _ := v.ID()
	if acc, err := rec.Accepted(v.Dir()); err != nil || !slices.Equal(acc, []string{id}) {
		t.Fatalf("after creating the vault the record holds %q, %v; want its own recipient", acc, err)
	}

	attacker, _ := age.GenerateX25519Identity()
	bad := attacker.Recipient().String()
	addToManifest(t, v, bad)
	if un, err := v.UnacceptedRecipients(); err != nil || !slices.Equal(un, []string{bad}) {
		t.Fatalf("UnacceptedRecipients = %q, %v", un, err)
	}
	// Adding a teammate would re-encrypt everything to the attacker too.
	mate, _ := age.GenerateX25519Identity()
	before := snapshot(t, v.path(secretsDir))
	manifestBefore, _ := os.ReadFile(v.path(manifestFile))
	if _, err := v.AddRecipient(ctx, "mate", mate.Recipient().String()); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("AddRecipient with an unaccepted recipient in vault.json: %v", err)
	}
	manifestAfter, _ := os.ReadFile(v.path(manifestFile))
	if snapshot(t, v.path(secretsDir)) != before || string(manifestAfter) != string(manifestBefore) {
		t.Fatal("a refused AddRecipient changed the vault")
	}
	// A second process on the same record is stopped too.
	w := openWithRecord(t, v.Dir(), rec)
	if err := w.Set(ctx, "b", []byte("2")); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("Set from a second Vault: %v", err)
	}

	if err := rec.Accept(v.Dir(), bad); err != nil {
		t.Fatal(err)
	}
	if un, err := v.UnacceptedRecipients(); err != nil || len(un) != 0 {
		t.Fatalf("after accepting, UnacceptedRecipients = %q, %v", un, err)
	}
	if err := w.Set(ctx, "b", []byte("2")); err != nil {
		t.Fatalf("Set after accepting: %v", err)
	}
	if got := readableBy(t, v, attacker); !slices.Equal(got, []string{filepath.Join("secrets", "b.age")}) {
		t.Fatalf("the accepted recipient reads %q; want only what was written after accepting", got)
	}
}

// A vault found with nothing recorded is trusted by nobody's word: its
// lone recipient may be a pusher's key. A single-user vault's own key is
// accepted once the user opens its identity.age.
func TestNoTrustOnFirstUse(t *testing.T) {
	ctx := context.Background()
	old := newVault(t) // made before any record: the record is in memory
	if err := old.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	id, _ := old.ID()
	rec := &recipients.Record{Path: filepath.Join(t.TempDir(), recipients.FileName)}
	v := openWithRecord(t, old.Dir(), rec)
	if un, err := v.UnacceptedRecipients(); err != nil || !slices.Equal(un, []string{id}) {
		t.Fatalf("a single-recipient vault with nothing recorded: UnacceptedRecipients = %q, %v", un, err)
	}
	var ue *UnacceptedError
	if err := v.Set(ctx, "b", []byte("2")); !errors.As(err, &ue) || !ue.Own || !strings.Contains(ue.Hint(), "kr unlock") {
		t.Fatalf("Set before the vault was opened: %v", err)
	}
	if _, err := os.Stat(rec.Path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a refused write wrote the record: %v", err)
	}
	// A read opens identity.age with the passphrase: the key is the user's.
	if got, err := v.Get(ctx, "a"); err != nil || string(got) != "1" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if acc, err := rec.Accepted(v.Dir()); err != nil || !slices.Equal(acc, []string{id}) {
		t.Fatalf("after a read the record holds %q, %v", acc, err)
	}
	if err := v.Set(ctx, "b", []byte("2")); err != nil {
		t.Fatal(err)
	}

	// A pusher's vault.json and identity.age in place of the user's: the
	// user's passphrase does not open them, so their key stays a stranger.
	theirs := newVault(t)
	if err := theirs.Set(ctx, "x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{manifestFile, identityFile} {
		b, err := os.ReadFile(theirs.path(f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(v.path(f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w := openWithRecord(t, v.Dir(), rec)
	w.opts.Decrypter = &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) { return []byte("the user's own"), nil }}
	if _, err := w.Get(ctx, "a"); err == nil {
		t.Fatal("Get with the pusher's identity.age succeeded")
	}
	if err := w.Set(ctx, "c", []byte("3")); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("Set to the pusher's key: %v", err)
	}
	if _, err := os.Stat(w.secretPath("c")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a secret was written to the pusher's key: %v", err)
	}

	// Two recipients and nothing recorded: the same.
	team := newVault(t)
	if err := team.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	mate, _ := age.GenerateX25519Identity()
	if _, err := team.AddRecipient(ctx, "mate", mate.Recipient().String()); err != nil {
		t.Fatal(err)
	}
	fresh := openWithRecord(t, team.Dir(), &recipients.Record{Path: filepath.Join(t.TempDir(), recipients.FileName)})
	if got, err := fresh.Get(ctx, "a"); err != nil || string(got) != "1" {
		t.Fatalf("Get = %q, %v; reads need no acceptance", got, err)
	}
	// The read accepted the vault's own key, not the mate's.
	if un, err := fresh.UnacceptedRecipients(); err != nil || !slices.Equal(un, []string{mate.Recipient().String()}) {
		t.Fatalf("after a read, UnacceptedRecipients = %q, %v", un, err)
	}
	if err := fresh.Set(ctx, "b", []byte("2")); !errors.Is(err, ErrUnacceptedRecipient) {
		t.Fatalf("Set on a two-recipient vault with the mate not accepted: %v", err)
	}
}

// A shared vault whose only recipient is a pusher's key: a fresh clone
// writes nothing; one whose only recipient is the user's own identity
// needs no word.
func TestSharedLoneRecipient(t *testing.T) {
	ctx := context.Background()
	stranger, _ := age.GenerateX25519Identity()
	me, _ := age.GenerateX25519Identity()
	for _, c := range []struct {
		name  string
		id    *age.X25519Identity
		key   string
		write bool
	}{{"stranger", stranger, stranger.Recipient().String(), false}, {"me", me, me.Recipient().String(), true}} {
		t.Run(c.name, func(t *testing.T) {
			// The founder signs their own entry, so the maker holds the key.
			maker, err := Open(Options{Dir: filepath.Join(t.TempDir(), "team"),
				Decrypter: &KeyDecrypter{Identities: []age.Identity{c.id}, Source: "test"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := maker.InitShared(ctx, "someone", c.key); err != nil {
				t.Fatal(err)
			}
			rec := &recipients.Record{Path: filepath.Join(t.TempDir(), recipients.FileName)}
			v, err := Open(Options{Dir: maker.Dir(), Accepted: rec,
				Decrypter:  &KeyDecrypter{Identities: []age.Identity{me}, Source: "test"},
				AcceptAlso: func() ([]string, error) { return []string{me.Recipient().String()}, nil }})
			if err != nil {
				t.Fatal(err)
			}
			err = v.Set(ctx, "db/pass", []byte("v"))
			if c.write != (err == nil) {
				t.Fatalf("Set: %v", err)
			}
			if !c.write && !errors.Is(err, ErrUnacceptedRecipient) {
				t.Fatalf("Set: %v", err)
			}
			if acc, err := rec.Accepted(v.Dir()); err != nil || len(acc) != 0 {
				t.Fatalf("the record holds %q, %v", acc, err)
			}
		})
	}
}

func TestInitRecordsOwnRecipient(t *testing.T) {
	rec := &recipients.Record{Path: filepath.Join(t.TempDir(), recipients.FileName)}
	v := openWithRecord(t, filepath.Join(t.TempDir(), "vault"), rec)
	if _, err := v.Init(context.Background(), []byte(testPass)); err != nil {
		t.Fatal(err)
	}
	id, _ := v.ID()
	if acc, err := rec.Accepted(v.Dir()); err != nil || !slices.Equal(acc, []string{id}) {
		t.Fatalf("after Init the record holds %q, %v", acc, err)
	}
}

func TestBrokenRecordStopsWrites(t *testing.T) {
	dir := t.TempDir()
	rec := &recipients.Record{Path: filepath.Join(dir, recipients.FileName)}
	v := openWithRecord(t, filepath.Join(dir, "vault"), rec)
	ctx := context.Background()
	if err := v.Set(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec.Path, []byte(`{"version":1,"vaults":{},"Vaults":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(ctx, "a", []byte("2")); err == nil {
		t.Fatal("Set with an unreadable record succeeded")
	}
	if got, err := v.Get(ctx, "a"); err != nil || string(got) != "1" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}
