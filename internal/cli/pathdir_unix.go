//go:build unix

package cli

import (
	"os"
	"syscall"
)

// ownDir reports whether dir is a directory this user owns and nobody else
// may write to: a place kr may put a helper link that the user's PATH
// finds, without making a shared directory run kr.
func ownDir(dir, _ string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0 && fi.Mode().Perm()&0o200 != 0
}
