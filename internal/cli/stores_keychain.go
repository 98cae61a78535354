package cli

import (
	"context"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/keychain"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// keychainStore is the macOS Keychain.
var keychainStore = storeEntry{
	Name:  backends.Keychain,
	Label: "the Keychain",
	Role:  osStore,
	Open: func(ctx context.Context, a *App) (backends.Backend, error) {
		return keychain.Open(ctx, keychain.Options{Service: a.Service})
	},
	// Listing the Keychain can bring up its unlock dialog: completion
	// offers none of its names.
	OpenForNames: func(ctx context.Context, a *App) (backends.Backend, error) {
		return namesOnly{name: backends.Keychain}, nil
	},
	// Nothing is probed: every look into the Keychain may ask for its
	// password.
	Doctor: func(ctx context.Context, a *App, opened backends.Backend) []check {
		return []check{{"keychain", "info", "service " + a.Service + " (not probed: the Keychain may ask for its password)"}}
	},
	// git-credential-osxkeychain's and docker-credential-osxkeychain's
	// internet passwords: no kr service in them.
	Git: func(b backends.Backend) (gitcred.Store, error) {
		return gitcred.Keychain{}, nil
	},
	Docker: func(b backends.Backend) (dockercred.Store, error) {
		return dockercred.KeychainStore{}, nil
	},
}
