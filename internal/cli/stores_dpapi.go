package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// dpapiStore is Windows' Credential Manager, with DPAPI-sealed files for
// values over its size limit.
var dpapiStore = storeEntry{
	Name:  backends.DPAPI,
	Label: "Credential Manager",
	Role:  osStore,
	Open: func(ctx context.Context, a *App) (backends.Backend, error) {
		return dpapi.Open(ctx, dpapi.Options{Service: a.Service})
	},
	// Its List is CredEnumerate, which has no UI.
	OpenForNames: func(ctx context.Context, a *App) (backends.Backend, error) {
		return dpapi.Open(ctx, dpapi.Options{Service: a.Service})
	},
	Doctor: func(ctx context.Context, a *App, opened backends.Backend) []check {
		b, err := dpapi.Open(ctx, dpapi.Options{Service: a.Service})
		if err == nil {
			var names []string
			if names, err = b.List(ctx, ""); err == nil {
				return []check{{"dpapi", "ok", fmt.Sprintf("service %s, %d secret(s)", a.Service, len(names))}}
			}
		}
		status := "fail"
		if errors.Is(err, backends.ErrUnavailable) {
			status = "warn"
		}
		return []check{{"dpapi", status, err.Error()}}
	},
	// Git Credential Manager's and docker-credential-wincred's targets.
	Git: func(b backends.Backend) (gitcred.Store, error) {
		return gitcred.WinCred{}, nil
	},
	Docker: func(b backends.Backend) (dockercred.Store, error) {
		return dockercred.WinCredStore{}, nil
	},
}
