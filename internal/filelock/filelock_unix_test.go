//go:build !windows

package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestSymlinkNotFollowed: a lock file that is a symlink is refused, and
// its target is neither created nor truncated.
func TestSymlinkNotFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	path := filepath.Join(dir, "x.lock")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), path); err == nil {
		t.Fatal("Lock through a symlink succeeded")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the symlink's target was created (%v)", err)
	}
}

// TestFIFORefused: a FIFO planted as the lock file is refused at once; a
// blocking open would wait for a writer forever (the test would hang).
func TestFIFORefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("TryLock of a FIFO: %v", err)
	}
}
