package cli

import (
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	defer func(v, c, d string) { Version, Commit, Date = v, c, d }(Version, Commit, Date)
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-11-23T10:00:00Z"
	if got, want := versionString(), "v1.2.3 (commit 0123456789ab, built 2026-11-23T10:00:00Z)"; got != want {
		t.Errorf("release build: %q, want %q", got, want)
	}
	Version, Commit, Date = "", "", ""
	if got := versionString(); got == "" || strings.Contains(got, "()") {
		t.Errorf("build without ldflags: %q", got)
	}
}
