package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/backends/keychain"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// nativeStores lists the OS credential stores auto-selection tries before
// the file vault, in order. Each Open returns an error wrapping
// ErrUnavailable (ErrUnsupported on an OS it does not serve) when its store
// is not there.
func (a *App) nativeStores() []backends.Candidate {
	ss := backends.Candidate{Name: backends.SecretService, Open: func(ctx context.Context) (backends.Backend, error) {
		return secretservice.Open(ctx, secretservice.Options{Service: a.Service})
	}}
	dp := backends.Candidate{Name: backends.DPAPI, Open: func(ctx context.Context) (backends.Backend, error) {
		return dpapi.Open(ctx, dpapi.Options{Service: a.Service})
	}}
	kc := backends.Candidate{Name: backends.Keychain, Open: func(ctx context.Context) (backends.Backend, error) {
		return keychain.Open(ctx, keychain.Options{Service: a.Service})
	}}
	switch runtime.GOOS {
	case "darwin":
		return []backends.Candidate{kc}
	case "windows":
		return []backends.Candidate{dp}
	}
	return []backends.Candidate{ss}
}

// nativeChecks reports the OS store in `kr doctor`.
func (a *App) nativeChecks(ctx context.Context) []check {
	switch runtime.GOOS {
	case "darwin", "windows":
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, backends.ProbeTimeout)
	defer cancel()
	b, ok := backends.Unwrap(a.opened).(*secretservice.Backend)
	if !ok {
		var err error
		if b, err = secretservice.Open(pctx, secretservice.Options{Service: a.Service}); err != nil {
			return []check{{"secretservice", "warn", err.Error()}}
		}
		defer b.Close()
	}
	info, err := b.Info(pctx)
	if err != nil {
		return []check{{"secretservice", "fail", err.Error()}}
	}
	state := "unlocked"
	if info.Locked {
		state = "locked"
	}
	return []check{{"secretservice", "ok", fmt.Sprintf("service %s, collection %s (%q, %s), session %s",
		info.Service, info.Collection, info.CollectionLabel, state, info.Algorithm)}}
}
