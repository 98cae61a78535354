package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parentProgram names the process that ran kr, from /proc: its
// executable's name, else its command name.
func parentProgram() (string, bool) {
	dir := "/proc/" + strconv.Itoa(os.Getppid())
	if exe, err := os.Readlink(dir + "/exe"); err == nil {
		return filepath.Base(strings.TrimSuffix(exe, " (deleted)")), true
	}
	if b, err := os.ReadFile(dir + "/comm"); err == nil && len(b) > 1 {
		return strings.TrimSpace(string(b)), true
	}
	return "", false
}
