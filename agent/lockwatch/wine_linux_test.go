package lockwatch

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestLockWatchUnderWine runs the Windows watcher's tests under wine: its
// hidden window is created and registered, and the messages Windows sends
// it lock with their reasons.
func TestLockWatchUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/agent/lockwatch"))
}
