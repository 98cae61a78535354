//go:build windows

package filevault

import (
	"io/fs"
	"os"
	"path/filepath"
)

// openFlags: Windows has no FIFOs in the file namespace. A symlinked file
// is followed there (making one needs a privilege); symlinked folders are
// refused by checkDirs.
const openFlags = 0

// checkFileInfo: on Windows the vault lives in the user's profile, whose
// ACL already keeps other users out; mode bits mean nothing there.
func checkFileInfo(path string, fi fs.FileInfo) error { return nil }

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

// TightenModes does nothing on Windows, where kr checks no mode bits.
func TightenModes(dir string) error { return nil }
