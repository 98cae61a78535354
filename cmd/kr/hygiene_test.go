package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoTrackerCitations: comments, tests and scripts explain themselves in
// the code's own terms; a tracker's item numbers mean nothing to the next
// reader, and the tracker is not in the repository.
func TestNoTrackerCitations(t *testing.T) {
	// Built from parts so that this file does not match itself.
	cite := regexp.MustCompile(`(?i)` + `issue` + ` [0-9]+|` + `must` + ` show`)
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		switch filepath.Ext(p) {
		case ".go", ".txtar", ".sh":
		default:
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if cite.MatchString(line) {
				t.Errorf("%s:%d cites a tracker: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
