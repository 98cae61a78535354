//go:build unix

package vaultgit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A remote that never answers: the git serving it blocks opening its
// config, a FIFO nobody writes to. Cancelling ctx ends the sync.
func TestSyncCancelled(t *testing.T) {
	tm := newTeam(t, "")
	a := tm.founded()
	stuck := filepath.Join(t.TempDir(), "stuck.git")
	gitT(t, ".", "clone", "-q", "--bare", tm.remote, stuck)
	fifo := filepath.Join(stuck, "config")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(t, fifo) })
	gitT(t, a, "remote", "set-url", "origin", stuck)
	write(t, a, "secrets/a.age", blob(t))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer := make(chan *os.File, 1)
	go func() {
		// Opening for writing returns once the remote's git opens the FIFO
		// to read it: the sync is waiting on the remote. The FIFO stays
		// open, so that git keeps waiting for the rest of its config.
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
		}
		cancel()
		writer <- w
	}()
	_, err := Sync(ctx, opts(a))
	if w := <-writer; w != nil {
		w.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("sync: %v, want context.Canceled", err)
	}
	t.Log(err)
	clean(t, a)
}

// release lets every git still blocked on the FIFO go on: later opens find
// a plain file, and each writer's open wakes the readers waiting.
func release(t *testing.T, fifo string) {
	parked := fifo + ".fifo"
	if err := os.Rename(fifo, parked); err != nil {
		t.Error(err)
		return
	}
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Error(err)
	}
	for {
		fd, err := unix.Open(parked, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		if err != nil { // ENXIO: no reader left
			return
		}
		unix.Close(fd)
	}
}
