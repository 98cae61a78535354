package ipc

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestPipeUnderWine runs the named-pipe tests (round trip, first instance,
// deadline, owner) under wine.
func TestPipeUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/ipc"))
}
