//go:build !windows

package filevault

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// openFlags keep an open from blocking on a FIFO or device (the file is
// then refused by its mode) and from following a symlink planted in the
// vault.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW

// checkFileInfo refuses what another user owns or can write: they could
// replace a value or the recipients under us. fi must come from Lstat or
// Fstat: os.FileInfo.Sys() is a *syscall.Stat_t on every Unix, and anything
// else means the owner is unknown, which is a refusal, not a pass.
func checkFileInfo(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: cannot tell who owns it (%T): refusing to use it", path, fi.Sys())
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return fmt.Errorf("%s is owned by %s, not by you (uid %d): refusing to use it; if it is yours, chown it back, else move it away and find out who put it there",
			path, owner(st.Uid), uid)
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

// owner names a uid for an error message: "uid 65534 (nobody)".
func owner(uid uint32) string {
	s := "uid " + strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil && u.Username != "" {
		s += " (" + u.Username + ")"
	}
	return s
}

func quote(p string) string {
	for _, c := range p {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return "'" + p + "'"
		}
	}
	return p
}

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
