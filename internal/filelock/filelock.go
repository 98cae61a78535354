// Package filelock is kr's one exclusive lock on a file: flock on Unix,
// LockFileEx on Windows. It is advisory, held by an open descriptor, and
// dropped by the kernel when its process dies, so a killed kr never leaves
// a lock behind. The vault's writer lock, the agent's start lock and the
// agent socket's listen lock all take it here.
//
// The lock file is created 0600 if need be. On Unix its path is never
// followed through a symlink in its last element, the open cannot block
// (a FIFO planted there would otherwise wait for a writer), and anything
// but a regular file is refused. The caller checks the directory first:
// the rules for it are the caller's (a vault's, a socket's).
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrBusy means another holder has the lock: at once for TryLock, for as
// long as ctx lasted for Lock.
var ErrBusy = errors.New("the lock is held by another process")

// File is a lock file held exclusively.
type File struct{ f *os.File }

// TryLock takes the lock on path without waiting; ErrBusy when another
// holds it.
func TryLock(path string) (*File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	ok, err := tryLock(f)
	switch {
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	case !ok:
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrBusy, path)
	}
	return &File{f}, nil
}

// Lock takes the lock on path, waiting for it until ctx ends; then the
// error wraps both ErrBusy and ctx's error. It polls (from 1ms, doubling
// up to 50ms): flock and LockFileEx cannot wait under a context.
func Lock(ctx context.Context, path string) (*File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if ok {
			return &File{f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: %s: %w", ErrBusy, path, ctx.Err())
		case <-time.After(delay):
		}
	}
}

// Unlock releases the lock and closes the file; the file stays, for the
// next holder. A second call does nothing.
func (l *File) Unlock() {
	if l.f == nil {
		return
	}
	unlock(l.f)
	l.f.Close()
	l.f = nil
}

// open opens (or creates) the lock file, refusing anything but a regular
// file.
func open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|openFlags, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("the lock file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	return f, nil
}
