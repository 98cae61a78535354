package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelperVaults(t *testing.T) {
	cdir, dir := t.TempDir(), t.TempDir()
	vault := filepath.Join(dir, "team")
	if err := os.Mkdir(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(vault, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if ok, err := HelperVault(cdir, vault); ok || err != nil {
		t.Fatalf("before any record: %v, %v", ok, err)
	}
	for range 2 {
		if err := AddHelperVault(cdir, link); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := HelperVault(cdir, vault); !ok || err != nil {
		t.Fatalf("recorded through a link, read by the real path: %v, %v", ok, err)
	}
	if ok, err := HelperVault(cdir, dir); ok || err != nil {
		t.Fatalf("the vault's parent: %v, %v", ok, err)
	}
	b, err := os.ReadFile(filepath.Join(cdir, HelperVaultsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "team"); n != 1 {
		t.Fatalf("the record names the vault %d times:\n%s", n, b)
	}
	if err := os.WriteFile(filepath.Join(cdir, HelperVaultsFile), []byte(`{"version":1,"vaults":[],"Vaults":["/"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := HelperVault(cdir, "/"); err == nil {
		t.Fatal("a record with a case-variant key was read")
	}
}
