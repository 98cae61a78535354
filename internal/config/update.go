package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/limitio"
)

// MaxRecord bounds a record file kr keeps in its configuration directory.
const MaxRecord = 4 << 20

// LockSuffix names a record's lock file: the record's name plus it, in the
// same directory. The record itself is replaced on every write (a rename),
// so it cannot carry the lock.
const LockSuffix = ".lock"

// updateWait bounds the wait for another kr's change to a record. A holder
// reads, changes and writes one small file, so the wait is short unless
// that kr is stopped; then an error beats hanging.
const updateWait = time.Minute

// Update changes the record at path under its lock: change gets the
// current content (nil when there is none) and returns the new one, which
// replaces the file atomically unless it is the same. Two kr processes
// updating one record each see the other's change: the reads, changes and
// writes of one record happen one at a time. The directory is made (0700)
// when missing. An error from change leaves the record as it was.
func Update(path string, change func(old []byte) ([]byte, error)) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), updateWait)
	defer cancel()
	lock, err := filelock.Lock(ctx, path+LockSuffix)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	old, err := limitio.ReadFile(path, MaxRecord)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	out, err := change(old)
	if err != nil {
		return err
	}
	if bytes.Equal(out, old) {
		return nil
	}
	return atomicfile.Write(path, out)
}
