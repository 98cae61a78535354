package filevault

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// A shared vault (version 2) holds no identity; a personal identity or
// keys held in the process read it, and a stranger's key is a clear error.
func TestSharedVault(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	p := &Personal{Dir: filepath.Join(tmp, "identity"), ScryptWorkFactor: 10}
	if _, err := p.Recipient(); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("no identity yet: got %v", err)
	}
	pub, code, err := p.Create(ctx, []byte(testPass))
	if err != nil || code == "" {
		t.Fatal(err)
	}
	if got, err := p.Recipient(); err != nil || got != pub {
		t.Fatalf("Recipient = %q, %v; want %q", got, err, pub)
	}
	if _, _, err := p.Create(ctx, []byte(testPass)); err == nil {
		t.Fatal("a second Create replaced the identity")
	}

	v, err := Open(Options{Dir: filepath.Join(tmp, "shared"), Personal: p,
		Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) { return []byte(testPass), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.InitShared(ctx, "me", pub); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(ctx, "db/pass", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "db/pass"); err != nil || string(got) != "s3cret" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if id, err := v.ID(); err != nil || id != pub {
		t.Fatalf("ID = %q, %v; want the personal recipient", id, err)
	}
	if err := v.Passwd(ctx, []byte(testPass), []byte("new")); err == nil {
		t.Fatal("Passwd on a shared vault succeeded")
	}

	// A stranger's key: ErrWrongIdentity, not "damaged".
	other, _ := age.GenerateX25519Identity()
	v.opts.Decrypter = &KeyDecrypter{Identities: []age.Identity{other}, Source: "KR_IDENTITY"}
	_, err = v.Get(ctx, "db/pass")
	if !errors.Is(err, ErrWrongIdentity) || strings.Contains(err.Error(), "damaged") {
		t.Fatalf("stranger's key: got %v", err)
	}
}
