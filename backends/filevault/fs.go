package filevault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/wait"
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

func writeManifest(path string, m *format.Manifest) error {
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

// checkDir refuses a vault directory that is not a directory, not ours, or
// that group or others can write (they could swap files or plant a lock).
// The vault's own directory may be reached through a symlink (a vault kept
// in a synced folder); nothing below it may. The agent's socket directory
// is checked by stricter rules (checkDir in ipc, as GnuPG does): no
// symlink and no group or other bits at all, for it may sit in the shared
// temp dir and leads to the keys, while a vault holds only ciphertext and
// may be readable by others.
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

// checkDirs checks every folder below the vault's root down to dir (the
// root is checked by manifest): each a real directory, not a symlink, ours,
// and not writable by group or others. Then nobody else can swap anything
// on the way to a file, before or after the check.
func (v *Vault) checkDirs(dir string) error {
	return v.walkDirs(dir, false)
}

// makeDirs creates the folders below the vault's root down to dir, each
// 0700, checking each one as checkDirs does: an existing symlink or foreign
// folder is refused, never written through.
func (v *Vault) makeDirs(dir string) error {
	return v.walkDirs(dir, true)
}

func (v *Vault) walkDirs(dir string, create bool) error {
	rel, err := filepath.Rel(v.opts.Dir, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return fmt.Errorf("%s is outside the vault %s", dir, v.opts.Dir)
	}
	if rel == "." {
		return nil
	}
	p := v.opts.Dir
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		p = filepath.Join(p, elem)
		if create {
			if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if err := checkDirInfo(p, fi); err != nil {
			return err
		}
	}
	return nil
}

// checkDirInfo checks a folder inside the vault from its Lstat.
func checkDirInfo(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink: kr follows none inside a vault; replace it with the folder itself", path)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", path)
	}
	return checkFileInfo(path, fi)
}

// checkFile checks an existing file inside the vault without opening it or
// following a symlink.
func checkFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	return checkFileEntry(path, fi)
}

// checkFileEntry checks a file inside the vault from its Lstat or Fstat: a
// regular file (a FIFO or device would block or never end), ours, and not
// writable by group or others.
func checkFileEntry(path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%s is a symlink: kr follows none inside a vault; replace it with the file itself", path)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file but %s: refusing to use it", path, kind(fi.Mode()))
	}
	return checkFileInfo(path, fi)
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "of type " + m.Type().String()
}

// readFileChecked reads a vault file through a size limit. The open cannot
// block (a FIFO at the path is refused by its mode once open) and follows
// no symlink; the file is checked on the descriptor that is then read.
func readFileChecked(path string, limit int64) ([]byte, error) {
	f, err := openChecked(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return limitio.Read(f, path, limit)
}

// openChecked opens a vault file for reading as readFileChecked does.
func openChecked(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, checkFileEntry(path, fi)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkFileEntry(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lock takes the vault's writer lock, waiting for it as long as ctx allows
// one wait on another program (package wait): no writer waits forever on a
// stuck one.
func (v *Vault) lock(ctx context.Context) (unlock func(), err error) {
	lctx, end := wait.Bound(ctx, "another kr held the vault's lock")
	l, err := filelock.Lock(lctx, v.path(lockFile))
	if errors.Is(err, filelock.ErrBusy) {
		return nil, &busyError{dir: v.opts.Dir, err: end(lctx.Err())}
	}
	end(nil)
	if err != nil {
		return nil, fmt.Errorf("lock the vault: %w", err)
	}
	return l.Unlock, nil
}

// busyError is a write that gave up waiting for the vault's lock. It keeps
// ctx's error (a timeout, exit 4) and names the likely holder: the generic
// hint for a timeout blames a slow store.
type busyError struct {
	dir string
	err error
}

func (e *busyError) Error() string {
	return fmt.Sprintf("wait for another kr writing to %s: %v", e.dir, e.err)
}

func (e *busyError) Unwrap() error { return e.err }

func (e *busyError) Hint() string {
	return "another kr holds the vault's lock (a 'kr vault sync' holds it while git pulls and pushes); try again once it is done, or raise --timeout"
}
