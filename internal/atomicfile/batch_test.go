package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Nothing changes until Commit; Abort leaves no temp file behind.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	paths := []string{filepath.Join(dir, "a"), filepath.Join(sub, "b")}
	for _, p := range paths {
		os.WriteFile(p, []byte("old"), 0o600)
	}
	var b Batch
	for _, p := range paths {
		if err := b.Write(p, []byte("new")); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		if got, _ := os.ReadFile(p); string(got) != "old" {
			t.Fatalf("%s changed before Commit: %q", p, got)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		got, _ := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if string(got) != "new" || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s after Commit: %q %v", p, got, fi.Mode())
		}
	}
	if err := b.Write(paths[0], []byte("never")); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	for _, d := range []string{dir, sub} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), TempPrefix) {
				t.Fatalf("temp file %s left in %s", e.Name(), d)
			}
		}
	}
	if got, _ := os.ReadFile(paths[0]); string(got) != "new" {
		t.Fatalf("aborted write landed: %q", got)
	}
}
