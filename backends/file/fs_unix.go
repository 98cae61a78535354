//go:build !windows

package file

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

func checkFileInfo(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*unix.Stat_t)
	if ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by you (uid %d): refusing to use it", path, st.Uid, os.Getuid())
	}
	perm := fi.Mode().Perm()
	switch {
	case perm&0o020 != 0:
		return fmt.Errorf("%s is group-writable (mode %04o): run chmod go-w %s", path, perm, quote(path))
	case perm&0o002 != 0:
		return fmt.Errorf("%s is world-writable (mode %04o): run chmod go-w %s", path, perm, quote(path))
	}
	return nil
}

func quote(p string) string {
	for _, c := range p {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "'" + p + "'"
		}
	}
	return p
}

func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EWOULDBLOCK {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

func defaultDir() (string, error) {
	if isDarwin {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "kr", "vault"), nil
	}
	return xdgDataDir()
}
