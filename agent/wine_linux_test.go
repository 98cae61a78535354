package agent

import (
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestAgentUnderWine runs the agent's tests on Windows under wine: unlock,
// decrypt, lock and TTL, and the server over the real named pipe with its
// owner check and connection cap.
func TestAgentUnderWine(t *testing.T) {
	e := winetest.Setup(t)
	e.RunTest(t, e.BuildTest(t, "github.com/kr-keyring/kr/agent"))
}
