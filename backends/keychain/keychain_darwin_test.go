//go:build darwin

package keychain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
)

// TestConformanceKeychain runs the suite against the real Keychain (the
// macOS CI job makes a temporary keychain the default one first).
func TestConformanceKeychain(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backends.Backend {
		var rnd [6]byte
		rand.Read(rnd[:])
		b, err := Open(context.Background(), Options{Service: "kr-test-" + hex.EncodeToString(rnd[:])})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			names, _ := b.List(context.Background(), "")
			for _, n := range names {
				b.Delete(context.Background(), n)
			}
		})
		return b
	}, backendtest.Options{Concurrency: 4})
}
