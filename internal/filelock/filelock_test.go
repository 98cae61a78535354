package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kr-keyring/kr/internal/winetest/wintemp"
)

// TestExclusive: a held lock is refused to a second holder, at once by
// TryLock and once ctx ends by Lock, and is free again after Unlock.
func TestExclusive(t *testing.T) {
	path := filepath.Join(wintemp.Dir(t), "x.lock")
	l, err := TryLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryLock(path); !errors.Is(err, ErrBusy) {
		t.Fatalf("TryLock of a held lock: %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, ErrBusy) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock of a held lock, ctx ended: %v, want ErrBusy and context.Canceled", err)
	}
	got := make(chan error, 1)
	go func() {
		l2, err := Lock(context.Background(), path)
		if err == nil {
			l2.Unlock()
		}
		got <- err
	}()
	l.Unlock()
	l.Unlock() // a second Unlock does nothing
	if err := <-got; err != nil {
		t.Fatalf("Lock once the holder let go: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the lock file did not stay: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("the lock file has mode %v, want 0600", fi.Mode())
	}
}

// TestNotAFile: a directory where the lock file goes is refused.
func TestNotAFile(t *testing.T) {
	dir := wintemp.Dir(t)
	if _, err := TryLock(dir); err == nil {
		t.Fatal("TryLock of a directory succeeded")
	}
}
