package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// secretServiceStore is the Secret Service over D-Bus (GNOME Keyring,
// KWallet, KeePassXC), the OS store of Linux and the BSDs.
var secretServiceStore = storeEntry{
	Name:  backends.SecretService,
	Label: "the Secret Service",
	Role:  osStore,
	Open: func(ctx context.Context, a *App) (backends.Backend, error) {
		return secretservice.Open(ctx, secretservice.Options{Service: a.Service})
	},
	// The items that are unlocked already, without unlocking any.
	OpenForNames: func(ctx context.Context, a *App) (backends.Backend, error) {
		l, err := secretservice.OpenNameLister(ctx, secretservice.Options{Service: a.Service})
		if err != nil {
			return nil, err
		}
		return namesOnly{name: backends.SecretService, list: l.List, close: l.Close}, nil
	},
	Doctor: secretServiceChecks,
	// git-credential-libsecret's and docker-credential-secretservice's
	// items.
	Git: func(b backends.Backend) (gitcred.Store, error) {
		ss, err := storeOf[*secretservice.Backend](b)
		return gitcred.SecretService{SS: ss}, err
	},
	Docker: func(b backends.Backend) (dockercred.Store, error) {
		ss, err := storeOf[*secretservice.Backend](b)
		return dockercred.SecretServiceStore{SS: ss}, err
	},
}

// secretServiceChecks reports the service, its collection and the session.
func secretServiceChecks(ctx context.Context, a *App, opened backends.Backend) []check {
	pctx, cancel := context.WithTimeout(ctx, backends.ProbeTimeout)
	defer cancel()
	b, ok := backends.As[*secretservice.Backend](opened)
	if !ok {
		var err error
		if b, err = secretservice.Open(pctx, secretservice.Options{Service: a.Service}); err != nil {
			status := "fail"
			if errors.Is(err, backends.ErrUnavailable) {
				status = "warn"
			}
			return []check{{"secretservice", status, err.Error()}}
		}
		defer b.Close()
	}
	info, err := b.Info(pctx)
	if err != nil {
		return []check{{"secretservice", "fail", err.Error()}}
	}
	if info.Collection == "" {
		return []check{{"secretservice", "warn", fmt.Sprintf("service %s has no default or login keyring: the first write asks it to create one, a prompt that a machine with no display cannot show ('kr backend file' uses a file vault instead)", info.Service)}}
	}
	state := "unlocked"
	if info.Locked {
		state = "locked"
	}
	return []check{{"secretservice", "ok", fmt.Sprintf("service %s, collection %s (%q, %s), session %s",
		info.Service, info.Collection, info.CollectionLabel, state, info.Algorithm)}}
}
