package envref

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestAllowConcurrent: kr processes allowing different project files at
// the same moment all find their file allowed after.
func TestAllowConcurrent(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "cfg", "allowed.json")
	const n = 16
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("p%d", i), ProjectFile)
		if err := os.MkdirAll(filepath.Dir(files[i]), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(files[i], []byte("A=kr://x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = (&Trust{Path: record}).Allow(files[i])
		}()
	}
	wg.Wait()
	tr := &Trust{Path: record}
	for i, f := range files {
		if errs[i] != nil {
			t.Fatalf("allow %s: %v", f, errs[i])
		}
		if st, _, err := tr.Check(f); st != Allowed {
			t.Errorf("%s: %v, %v: an update was lost", f, st, err)
		}
	}
}
