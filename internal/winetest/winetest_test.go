package winetest

import (
	"strings"
	"testing"
	"time"
)

// TestWineRunsGo runs a Windows test binary under wine: the harness
// itself works (prefix, ProcessPrng shim, cross-compiled tests).
func TestWineRunsGo(t *testing.T) {
	e := Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/internal/winetest/wintemp"))
}

// TestFreshPrefix: on a machine that has never run a wine test (a fresh
// CI machine), Setup builds the prefix, and a command then runs in it.
func TestFreshPrefix(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	e := Setup(t)
	ctx, cancel := e.Context(3 * time.Minute)
	defer cancel()
	if out, err := e.Command(ctx, "cmd", "/c", "echo", "ready").CombinedOutput(); err != nil || !strings.Contains(string(out), "ready") {
		t.Fatalf("cmd /c echo in a fresh prefix: %v: %s", err, out)
	}
}
