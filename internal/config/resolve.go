package config

import (
	"errors"
	"io/fs"
	"path/filepath"
)

// ResolveDir is how a record keys a directory: absolute, cleaned, with
// symlinks resolved, so that one directory is one entry whatever path
// reaches it. The last elements may not exist yet (a scope's folder
// before its first secret): those are kept as they are.
func ResolveDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return resolve(abs), nil
}

func resolve(abs string) string {
	r, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return r
	}
	parent := filepath.Dir(abs)
	if !errors.Is(err, fs.ErrNotExist) || parent == abs {
		return abs
	}
	return filepath.Join(resolve(parent), filepath.Base(abs))
}
