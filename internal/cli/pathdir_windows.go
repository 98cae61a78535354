package cli

import (
	"os"
	"path/filepath"
	"strings"
)

// ownDir reports whether dir is a directory under the user's profile, the
// only directories on a Windows PATH that are the user's own to write.
func ownDir(dir, home string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || home == "" {
		return false
	}
	rel, err := filepath.Rel(home, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
