package cli

import (
	"context"

	"github.com/kr-keyring/kr/backends"
)

// nativeStores lists the OS credential stores auto-selection tries before
// the file vault, in order. Each Open returns ErrUnsupported (wrapping
// ErrUnavailable) on an OS it does not serve.
func (a *App) nativeStores() []backends.Candidate {
	return nil
}

// nativeChecks reports the OS store in `kr doctor`.
func (a *App) nativeChecks(ctx context.Context) []check { return nil }
