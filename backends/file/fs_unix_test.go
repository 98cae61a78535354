//go:build !windows

package file

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// nobody is the uid the ownership tests hand parts of a vault to.
const nobody = 65534

// vaultWithNested returns a vault holding "top" and the nested "db/prod",
// so that secrets/ and secrets/db are both on the way to a file.
func vaultWithNested(t *testing.T) *Vault {
	t.Helper()
	v := newVault(t)
	ctx := context.Background()
	for _, n := range []string{"top", "db/prod"} {
		if err := v.Set(ctx, n, []byte("value of "+n)); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

// refusedEverywhere asserts that Get, Set and List all fail with an error
// naming want, and that Set wrote nothing. A bad secret file stops only
// its own name's Set; anything on the way to it stops a new name's too.
// fileMode says the trouble is the secret file's owner or mode: List does
// not look that up (a name says nothing of the content, which Get checks)
// and still lists it.
func refusedEverywhere(t *testing.T, v *Vault, want string, onlyTheFile, fileMode bool) {
	t.Helper()
	ctx := context.Background()
	if got, err := v.Get(ctx, "db/prod"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Get = %q, %v; want an error naming %s", got, err, want)
	} else {
		t.Log(err)
	}
	before := snapshotTree(t, v.Dir())
	if err := v.Set(ctx, "db/prod", []byte("attacker-readable?")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Set: %v; want an error naming %s", err, want)
	}
	if !onlyTheFile {
		if err := v.Set(ctx, "db/new", []byte("x")); err == nil {
			t.Errorf("Set of a new name succeeded")
		}
	}
	if after := snapshotTree(t, v.Dir()); after != before {
		t.Errorf("a refused Set changed the vault:\n%s\nthen\n%s", before, after)
	}
	names, err := v.List(ctx, "")
	switch {
	case fileMode:
		if err != nil || strings.Join(names, " ") != "db/prod top" {
			t.Errorf("List = %q, %v; want both names", names, err)
		}
	case err == nil || !strings.Contains(err.Error(), want):
		t.Errorf("List = %q, %v; want an error naming %s", names, err, want)
	}
}

// snapshotTree lists every path under dir with its type, size and owner,
// without following symlinks.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + fi.ModTime().String() + "\n")
		return nil
	})
	return b.String()
}

func TestForeignOwnerRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown vault parts to another uid; run the tests as root to cover this")
	}
	for _, part := range []string{"", "secrets", "secrets/db", "vault.json", "identity.age", "recovery.age", "secrets/db/prod.age"} {
		t.Run("root/"+part, func(t *testing.T) {
			v := vaultWithNested(t)
			p := v.path(part)
			if err := os.Lchown(p, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			file := part == "secrets/db/prod.age"
			refusedEverywhere(t, v, "owned by uid 65534", file, file)
			if ok, err := v.Has(context.Background(), "db/prod"); err == nil {
				t.Errorf("Has = %v with %s owned by another user", ok, part)
			}
		})
	}
}

func TestSymlinkedFolderRefused(t *testing.T) {
	for _, part := range []string{"secrets", "secrets/db", "secrets/db/prod.age"} {
		t.Run(part, func(t *testing.T) {
			v := vaultWithNested(t)
			p := v.path(part)
			// The target is ours, 0700 and holds the same files: only the
			// symlink itself is wrong.
			moved := filepath.Join(t.TempDir(), "moved")
			if err := os.Rename(p, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, p); err != nil {
				t.Fatal(err)
			}
			refusedEverywhere(t, v, "symlink", part == "secrets/db/prod.age", false)
		})
	}
}

func TestWritableFolderRefused(t *testing.T) {
	for _, part := range []string{"secrets", "secrets/db"} {
		for _, mode := range []os.FileMode{0o777, 0o770, 0o703} {
			t.Run(part+"/"+mode.String(), func(t *testing.T) {
				v := vaultWithNested(t)
				if err := os.Chmod(v.path(part), mode); err != nil {
					t.Fatal(err)
				}
				refusedEverywhere(t, v, "writable", false, false)
			})
		}
	}
}

func TestWritableFilesRefused(t *testing.T) {
	for _, part := range []string{"vault.json", "identity.age", "secrets/db/prod.age"} {
		t.Run(part, func(t *testing.T) {
			v := vaultWithNested(t)
			if err := os.Chmod(v.path(part), 0o666); err != nil {
				t.Fatal(err)
			}
			file := part == "secrets/db/prod.age"
			refusedEverywhere(t, v, "writable", file, file)
		})
	}
}

// fakeInfo is a FileInfo whose Sys is not a *syscall.Stat_t.
type fakeInfo struct{ fs.FileInfo }

func (fakeInfo) Sys() any { return nil }

func TestUnknownStatRefused(t *testing.T) {
	dir := t.TempDir()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkFileInfo(dir, fi); err != nil {
		t.Fatalf("our own 0700 directory: %v", err)
	}
	if err := checkFileInfo(dir, fakeInfo{fi}); err == nil {
		t.Fatal("a FileInfo without a Stat_t passed the owner check")
	}
}

// TestFIFORefused puts a FIFO where kr expects a file: opening one for
// reading blocks until a writer comes, and no --timeout interrupts open(2).
func TestFIFORefused(t *testing.T) {
	for _, part := range []string{"secrets/top.age", "vault.json", "identity.age"} {
		t.Run(part, func(t *testing.T) {
			v := vaultWithNested(t)
			p := v.path(part)
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			// A fresh Vault and decrypter: nothing cached from the setup.
			r, err := Open(Options{Dir: v.Dir(), Decrypter: &PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) {
				return []byte(testPass), nil
			}}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := r.Get(ctx, "top")
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") {
					t.Fatalf("Get with a FIFO at %s: %v", part, err)
				}
				if errors.Is(err, backends.ErrNotFound) {
					t.Fatalf("a FIFO is not a missing secret: %v", err)
				}
			case <-ctx.Done():
				// Release the blocked open so the goroutine ends.
				if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("Get with a FIFO at %s did not return", part)
			}
		})
	}
}

// TestListRefusesAFIFO: a name listed must be one Get reads, and a FIFO
// is not read; its type comes with the directory entry.
func TestListRefusesAFIFO(t *testing.T) {
	v := vaultWithNested(t)
	p := v.path("secrets", "db", "prod.age")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if names, err := v.List(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("List = %q, %v; want the FIFO %s refused", names, err, p)
	}
}
