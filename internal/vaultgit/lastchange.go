package vaultgit

import (
	"context"
	"path/filepath"
	"strings"
)

// Change is the commit that last changed a file.
type Change struct {
	Commit  string // abbreviated
	Author  string
	Subject string
}

// LastChange finds the commit that last changed the file at path, when
// its directory is inside a git work tree: where a damaged secret came
// from. ok is false outside a work tree, for a file git never committed,
// and when git fails or ctx ends first.
func LastChange(ctx context.Context, path string) (_ Change, ok bool) {
	g := newGit(filepath.Dir(path), nil)
	if in, err := g.out(ctx, "rev-parse", "--is-inside-work-tree"); err != nil || in != "true" {
		return Change{}, false
	}
	out, err := g.out(ctx, "log", "-1", "--format=%h%x00%an%x00%s", "--", filepath.Base(path))
	if err != nil || out == "" {
		return Change{}, false
	}
	f := strings.SplitN(out, "\x00", 3)
	if len(f) != 3 {
		return Change{}, false
	}
	return Change{Commit: f[0], Author: f[1], Subject: f[2]}, true
}
