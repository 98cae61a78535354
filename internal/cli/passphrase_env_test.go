package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// passphraseInEnv decides, without reading the file, what passphraseFromEnv
// would: the two must agree, or the decrypter would skip the terminal for
// a passphrase that is not there (or prompt past one that is).
func TestPassphraseInEnvAgreesWithFromEnv(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "pass")
	if err := os.WriteFile(full, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{
		{},
		{"KR_PASSPHRASE": "s3cret"},
		{"KR_PASSPHRASE_FILE": full},
		{"KR_PASSPHRASE_FILE": empty},
		{"KR_PASSPHRASE_FILE": filepath.Join(dir, "missing")},
		{"KR_PASSPHRASE_FILE": full, "KR_PASSPHRASE": "other"},
	} {
		a := &App{Getenv: func(k string) string { return env[k] }}
		p, ok, err := a.passphraseFromEnv()
		clear(p)
		if got := a.passphraseInEnv(); got != (ok || err != nil) {
			t.Errorf("env %v: passphraseInEnv = %v, passphraseFromEnv ok=%v err=%v", env, got, ok, err)
		}
	}
}
