package filelock

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestFileLockUnderWine runs these tests on Windows (LockFileEx) under
// wine.
func TestFileLockUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/internal/filelock"))
}
