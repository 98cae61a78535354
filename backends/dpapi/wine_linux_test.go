//go:build linux

package dpapi

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestUnderWine runs this package's Windows tests (the conformance suite on
// the real Credential Manager and DPAPI, the 2560/2561-byte boundary, 1 MiB
// values and go-keyring interop) under wine.
func TestUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/backends/dpapi"))
}
