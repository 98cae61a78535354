//go:build !windows

package agent

import (
	"path/filepath"
	"testing"
)

func testAddr(t testing.TB) string { return filepath.Join(t.TempDir(), "kr", "agent.sock") }
