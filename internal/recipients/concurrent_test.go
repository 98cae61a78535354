package recipients

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestAcceptConcurrent: kr processes accepting recipients at the same
// moment (here goroutines, each with its own lock descriptor) all find
// their recipient recorded after.
func TestAcceptConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config", FileName)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &Record{Path: path}
			errs[i] = r.Accept(filepath.Join(dir, fmt.Sprintf("vault%d", i)), a)
		}()
	}
	wg.Wait()
	r := &Record{Path: path}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("accept %d: %v", i, errs[i])
		}
		if acc, err := r.Accepted(filepath.Join(dir, fmt.Sprintf("vault%d", i))); err != nil || len(acc) != 1 {
			t.Errorf("vault%d: accepted %q, %v: an update was lost", i, acc, err)
		}
	}
}
