//go:build !windows

package filevault

import (
	"errors"
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

// TightenModes takes group and other write permission off every folder and
// file of yours in the vault dir (not below .git), as checkFileInfo
// requires: git checks files out with the user's umask, and the common
// 002 (user private groups) leaves them group-writable. The vault's own
// directory may be a symlink, as checkDir allows; below it, it follows no
// symlink and touches nothing another user owns, which stays refused.
func TightenModes(dir string) error {
	root, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	uid := os.Getuid()
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" && p != root {
			return fs.SkipDir
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil // symlinks, and what git never checks out
		}
		// Most files need nothing: look (lstat) before opening, so that
		// a sync of a large vault opens only the few it must change.
		if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o022 == 0 {
			return nil
		}
		return tightenOne(p, uid)
	})
}

// tightenOne takes group and other write off p, a folder or regular file
// of uid's. The mode comes from the descriptor that is changed: between the
// walk's look and the change, a folder still writable by the group lets its
// members swap p for a symlink, and chmod by name would then give the
// target (an ssh key, 0600) the bits of the file that was there (0644).
func tightenOne(p string, uid int) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, fs.ErrNotExist) {
		return nil // swapped or gone since the walk looked
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != uid || !(fi.IsDir() || fi.Mode().IsRegular()) || fi.Mode().Perm()&0o022 == 0 {
		return nil
	}
	return f.Chmod(fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky) &^ 0o022)
}
