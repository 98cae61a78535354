//go:build windows

package file

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// openFlags: Windows has no FIFOs in the file namespace. A symlinked file
// is followed there (making one needs a privilege); symlinked folders are
// refused by checkDirs.
const openFlags = 0

// checkFileInfo: on Windows the vault lives in the user's profile, whose
// ACL already keeps other users out; mode bits mean nothing there.
func checkFileInfo(path string, fi fs.FileInfo) error { return nil }

func tryLock(f *os.File) (bool, error) {
	ol := new(windows.Overlapped)
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err == windows.ERROR_LOCK_VIOLATION || err == windows.ERROR_IO_PENDING {
		return false, nil
	}
	return err == nil, err
}

func unlockFile(f *os.File) {
	windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

func defaultDir() (string, error) {
	if d := os.Getenv("LOCALAPPDATA"); d != "" {
		return filepath.Join(d, "kr", "vault"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "kr", "vault"), nil
}
