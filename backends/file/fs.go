package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kr-keyring/kr/internal/atomicfile"
)

const tempPrefix = atomicfile.TempPrefix

// writeAtomic replaces path atomically and clears temp files a killed
// writer left in its directory.
func writeAtomic(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		return err
	}
	cleanStaleTemps(filepath.Dir(path))
	return nil
}

// cleanStaleTemps removes temp files a killed writer left, once they are
// old enough that no live writer can still own them.
func cleanStaleTemps(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func writeManifest(path string, m *manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// checkDir refuses a vault directory that is not a directory, not ours, or
// that group or others can write (they could swap files or plant a lock).
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("vault %s is not a directory", dir)
	}
	return checkFileInfo(dir, fi)
}

// makeDir creates dir (and missing parents) 0700, whatever the umask, and
// checks it.
func makeDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return checkDir(dir)
}

// makeDirs creates the directories from root down to dir, each 0700.
func makeDirs(root, dir string) error {
	if err := checkDir(root); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := os.Mkdir(root, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	}
	return os.MkdirAll(dir, 0o700)
}

// lock takes the vault's writer lock, polling so that ctx is honoured: no
// writer waits forever on a stuck one.
func (v *Vault) lock(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(v.path(lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the vault's lock file: %w", err)
	}
	delay := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock the vault: %w", err)
		}
		if ok {
			return func() { unlockFile(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for another kr writing to %s: %w", v.opts.Dir, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}
