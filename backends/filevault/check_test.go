package filevault

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPassphrase: kr passwd and kr recover check what was typed
// before they ask for a new passphrase; the check must tell right from
// wrong and change nothing.
func TestCheckPassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	v, err := Open(Options{Dir: dir, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	code, err := v.Init(context.Background(), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, identityFile))

	if err := v.CheckPassphrase([]byte("pw")); err != nil {
		t.Errorf("right passphrase: %v", err)
	}
	if err := v.CheckPassphrase([]byte("wrong")); !errors.Is(err, ErrBadPassphrase) {
		t.Errorf("wrong passphrase: %v, want ErrBadPassphrase", err)
	}
	if err := v.CheckRecoveryCode(strings.ToLower(code)); err != nil {
		t.Errorf("right recovery code: %v", err)
	}
	if err := v.CheckRecoveryCode("AAAA-BBBB"); !errors.Is(err, ErrBadPassphrase) || !strings.Contains(err.Error(), "recovery code") {
		t.Errorf("wrong recovery code: %v", err)
	}
	if err := v.CheckRecoveryCode("pw"); !errors.Is(err, ErrBadPassphrase) {
		t.Errorf("the passphrase as recovery code: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, identityFile)); !bytes.Equal(before, after) {
		t.Errorf("a check rewrote %s", identityFile)
	}

	missing, _ := Open(Options{Dir: filepath.Join(t.TempDir(), "none"), Named: true})
	if err := missing.CheckPassphrase([]byte("pw")); err == nil || errors.Is(err, ErrBadPassphrase) {
		t.Errorf("no vault: %v, want an error other than a wrong passphrase", err)
	}
}
