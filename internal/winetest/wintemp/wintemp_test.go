package wintemp

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemove(t *testing.T) {
	d, err := os.MkdirTemp("", "wintemp-")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(d, "a", "b"), 0o700)
	os.WriteFile(filepath.Join(d, "a", "b", "f"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(d, "g"), []byte("x"), 0o600)
	Remove(d)
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatalf("%s still exists: %v", d, err)
	}
}
