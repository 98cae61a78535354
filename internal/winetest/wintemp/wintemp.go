// Package wintemp gives Windows-side tests a temporary directory that wine
// can clean up: os.RemoveAll fails under wine ("unlinkat: Invalid
// function"), so files are removed one by one with os.Remove.
package wintemp

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Dir returns a new directory removed when t ends.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "kr-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Remove(d) })
	return d
}

// Remove deletes dir bottom-up with os.Remove.
func Remove(dir string) {
	var paths []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		os.Remove(p)
	}
}
