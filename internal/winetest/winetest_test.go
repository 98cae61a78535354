package winetest

import "testing"

// TestWineRunsGo runs a Windows test binary under wine: the harness
// itself works (prefix, ProcessPrng shim, cross-compiled tests).
func TestWineRunsGo(t *testing.T) {
	e := Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/internal/winetest/wintemp"))
}
