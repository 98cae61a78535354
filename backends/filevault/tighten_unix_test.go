//go:build !windows

package filevault

import (
	"os"
	"path/filepath"
	"testing"
)

func modeOf(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// A vault may be reached through a symlink (a synced folder: checkDir
// allows it for the vault's own directory); TightenModes must fix what is
// inside it all the same, or such a clone made with umask 002 stays
// refused after every sync. Symlinks inside the vault are still not
// followed.
func TestTightenModesThroughSymlinkedVault(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(real, "secrets", "db"), outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(real, "secrets", "db", "prod.age")
	other := filepath.Join(outside, "notes")
	for _, f := range []string{secret, other} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, 0o664); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(real, "secrets"), 0o775); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(real, "secrets", "elsewhere")); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := TightenModes(link); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, secret); m != 0o644 {
		t.Errorf("secret file through the linked vault: mode %04o, want 0644", m)
	}
	if m := modeOf(t, filepath.Join(real, "secrets")); m != 0o755 {
		t.Errorf("secrets folder through the linked vault: mode %04o, want 0755", m)
	}
	if m := modeOf(t, other); m != 0o664 {
		t.Errorf("a file outside the vault, behind a symlink in it: mode %04o, want it untouched (0664)", m)
	}
}

// The walk looks at a file, then changes it: a group member who can still
// write its folder (that is why it is being tightened) may swap it for a
// symlink in between. The change must not land on the link's target, let
// alone give it the swapped file's read bits.
func TestTightenOneFollowsNoSymlink(t *testing.T) {
	base := t.TempDir()
	key := filepath.Join(base, "id_ed25519")
	if err := os.WriteFile(key, []byte("private"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(base, "prod.age") // was a 0664 file when the walk saw it
	if err := os.Symlink(key, p); err != nil {
		t.Fatal(err)
	}
	if err := tightenOne(p, os.Getuid()); err != nil {
		t.Fatal(err)
	}
	if m := modeOf(t, key); m != 0o600 {
		t.Errorf("the symlink's target went from 0600 to %04o", m)
	}
}

// A setgid folder (a shared group's) keeps its setgid bit.
func TestTightenOneKeepsSetgid(t *testing.T) {
	d := filepath.Join(t.TempDir(), "secrets")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, os.ModeSetgid|0o775); err != nil {
		t.Fatal(err)
	}
	if err := tightenOne(d, os.Getuid()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeSetgid); got != os.ModeSetgid|0o755 {
		t.Errorf("mode %v, want setgid and 0755", got)
	}
}
