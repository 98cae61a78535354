//go:build windows

package agent

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func testAddr(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return `\\.\pipe\kr-agent-test-` + hex.EncodeToString(b[:])
}
