package filevault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A binding is a second way to the same identity: its key opens it, a
// wrong key does not, the passphrase still does, and unbinding removes
// the files and nothing else.
func TestBindingWrapsTheSameIdentity(t *testing.T) {
	ctx := context.Background()
	p := &Personal{Dir: filepath.Join(t.TempDir(), "identity"), ScryptWorkFactor: 10}
	pub, _, err := p.Create(ctx, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Home()
	if err != nil {
		t.Fatal(err)
	}
	key, err := NewBindingKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Bind(ctx, "tpm", []byte("wrong"), key, nil); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("bind with a wrong passphrase: %v", err)
	}
	if err := h.Bind(ctx, "tpm", []byte("pw"), key, []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	kinds, err := h.Bindings()
	if err != nil || len(kinds) != 1 || kinds[0] != "tpm" {
		t.Fatalf("bindings: %v %v", kinds, err)
	}
	if k, err := h.Keeper("tpm"); err != nil || string(k) != "sealed" {
		t.Fatalf("keeper: %q %v", k, err)
	}
	d, err := h.OpenBinding("tpm", key)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Recipients(); len(got) != 1 || got[0] != pub {
		t.Fatalf("the binding holds %v, want %s", got, pub)
	}
	other, _ := NewBindingKey()
	var ie *IdentityError
	if _, err := h.OpenBinding("tpm", other); !errors.As(err, &ie) {
		t.Fatalf("another key opened the binding: %v", err)
	}
	wrapped, _ := p.IdentityFile()
	if _, _, err := unwrapIdentity("", wrapped, []byte("pw"), pub); err != nil {
		t.Fatalf("the passphrase no longer opens identity.age: %v", err)
	}
	if err := h.Unbind(ctx, "tpm"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bind-tpm.age", "bind-tpm.key"} {
		if _, err := os.Lstat(filepath.Join(p.Dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left after unbind: %v", f, err)
		}
	}
	if err := h.Unbind(ctx, "tpm"); !errors.Is(err, ErrNoBinding) {
		t.Errorf("second unbind: %v", err)
	}
	if _, err := p.Recipient(); err != nil {
		t.Errorf("unbind hurt the identity: %v", err)
	}
	if err := h.Bind(ctx, "usb", []byte("pw"), key, nil); err == nil {
		t.Errorf("an unknown kind was bound")
	}
}

// The recovery code given in the passphrase's place binds the identity,
// in any case and with or without dashes; a wrong code of the same shape
// does not; and Recover with it sets a passphrase that opens identity.age.
func TestBindAndRecoverWithTheRecoveryCode(t *testing.T) {
	ctx := context.Background()
	p := &Personal{Dir: filepath.Join(t.TempDir(), "identity"), ScryptWorkFactor: 10}
	pub, code, err := p.Create(ctx, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.Home()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := NewBindingKey()
	wrong := "ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2-34567"
	if err := h.Bind(ctx, "os", []byte(wrong), key, nil); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("bind with a wrong code: %v", err)
	}
	loose := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	if err := h.Bind(ctx, "os", []byte(loose), key, nil); err != nil {
		t.Fatalf("bind with the code: %v", err)
	}
	if d, err := h.OpenBinding("os", key); err != nil || d.Recipients()[0] != pub {
		t.Fatalf("the binding made with the code: %v", err)
	}
	if err := p.CheckRecoveryCode(wrong); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("check a wrong code: %v", err)
	}
	if err := p.Recover(ctx, wrong, []byte("new")); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("recover with a wrong code: %v", err)
	}
	if err := p.Recover(ctx, loose, []byte("new")); err != nil {
		t.Fatal(err)
	}
	wrapped, _ := p.IdentityFile()
	if _, _, err := unwrapIdentity("", wrapped, []byte("new"), pub); err != nil {
		t.Fatalf("the new passphrase does not open identity.age: %v", err)
	}
}
