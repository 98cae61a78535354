package sshagent

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestSSHAgentUnderWine runs this package's tests on Windows under wine,
// with the named pipe.
func TestSSHAgentUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/agent/sshagent"))
}
