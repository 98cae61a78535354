// Package atomicfile replaces files so that a crash at any moment leaves
// the old content or the new, never a torn or empty file.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// TempPrefix starts the name of every temp file Write makes, so that
// readers of a directory can skip them.
const TempPrefix = ".kr-tmp-"

// Write replaces path with data (mode 0600): a temp file in the same
// directory is written, synced and closed, renamed over path, and the
// directory is synced.
func Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, tmp, err := createTemp(dir)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	ok = true
	SyncDir(dir)
	return nil
}

// createTemp creates a new temp file (mode 0600) in dir, named so that
// readers skip it.
func createTemp(dir string) (*os.File, string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, "", err
	}
	tmp := filepath.Join(dir, TempPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	return f, tmp, err
}

// SyncDir makes a rename or removal in dir durable where the OS can sync a
// directory; elsewhere it does nothing.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
