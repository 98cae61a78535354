package cli

import (
	"context"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// fileStore is kr's age-encrypted file vault, on every system: the store
// where no OS store is there, and the only kind of mount.
var fileStore = storeEntry{
	Name:  backends.File,
	Label: "the file vault",
	Role:  vaultStore,
	Open: func(ctx context.Context, a *App) (backends.Backend, error) {
		return a.Vault()
	},
	OpenForNames: func(ctx context.Context, a *App) (backends.Backend, error) {
		dir, named := a.VaultDir, a.VaultDir != ""
		if !named {
			var err error
			if dir, err = filevault.DefaultDir(); err != nil {
				return nil, err
			}
		}
		// No Decrypter and no Create: nothing to decrypt with, nothing
		// to create; List reads file names only.
		return filevault.Open(filevault.Options{Dir: dir, Named: named})
	},
	Doctor: func(ctx context.Context, a *App, opened backends.Backend) []check {
		return a.vaultChecks(ctx)
	},
	// kr's own names: git/... and docker/... (gitcred.Name,
	// dockercred.NamePrefix).
	Git: func(b backends.Backend) (gitcred.Store, error) {
		return gitcred.Named{B: b}, nil
	},
	Docker: func(b backends.Backend) (dockercred.Store, error) {
		return dockercred.NamedStore{B: b}, nil
	},
	Mount: &mountOpeners{
		// A mounted vault is never created by a write: mounting needs
		// one that exists.
		Open: func(a *App, t config.MountTarget) (backends.Backend, error) {
			return a.openVault(t.Dir, true, false)
		},
		// No Decrypter: List reads file names only.
		OpenForNames: func(a *App, t config.MountTarget) (backends.Backend, error) {
			return filevault.Open(filevault.Options{Dir: t.Dir, Named: true})
		},
	},
}
