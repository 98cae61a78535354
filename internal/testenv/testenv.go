// Package testenv decides, once for every test in kr, whether a test whose
// tool, privilege or service is missing may skip: on a developer's machine
// it skips and says what to install; in CI, which installs everything the
// tests need (.ci/run), the same test fails, so a suite never passes there
// by running nothing. It follows restic's SkipDisallowed.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI: CI set to anything but "",
// "false" or "0". GitHub Actions and .ci/run set CI=true; other runners set
// CI=1, and both must mean the same.
func InCI() bool {
	switch os.Getenv("CI") {
	case "", "false", "0":
		return false
	}
	return true
}

// Skip skips t, saying why; in CI it fails t instead.
func Skip(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI cannot skip this test: .ci/run must provide it)", why)
		return
	}
	t.Skip(why)
}

// Skipf is Skip with a formatted reason.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	Skip(t, fmt.Sprintf(format, args...))
}

// Tool returns the path of the program name on PATH, or skips t (failing it
// in CI) saying which Debian package provides it.
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skipf(t, "%s is not installed (Debian: %s)", name, pkg)
	}
	return p
}

// Root skips t (failing it in CI, which runs as root) unless the test runs
// as root, for tests that start a child as another user.
func Root(t testing.TB) {
	t.Helper()
	if os.Getuid() != 0 {
		Skip(t, "needs root (to run a child as another user)")
	}
}
