package filevault

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A write that waited in vain for the lock says who holds it, as a hint
// the CLI prints: the generic "the store did not answer in time" sent a
// user whose kr vault sync was running to kr doctor. It stays a timeout.
func TestBusyVaultHints(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	if err := v.Set(ctx, "x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	done, cancel := context.WithCancel(ctx)
	cancel()
	err = v.Set(done, "x", []byte("2"))
	var h interface{ Hint() string }
	if !errors.As(err, &h) || !strings.Contains(h.Hint(), "kr vault sync") {
		t.Fatalf("Set = %v; want a hint naming what holds the lock", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Set = %v; want it to stay context.Canceled", err)
	}
}
