package cli

// This file is how an identity bound to the device (filevault's
// bind-KIND.age) is opened: what keeps each kind's binding key, and the
// step of the unlock order that asks it, after the agent and
// KR_IDENTITY(_FILE) and before any passphrase.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/backends/keychain"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// keeper holds the binding key of one kind of binding on this device.
type keeper interface {
	// what names the keeper for people: "the login keyring".
	what() string
	// keep puts key in the keeper's care and returns what bind-KIND.key
	// holds for give (nil for nothing).
	keep(ctx context.Context, h filevault.IdentityHome, key []byte) ([]byte, error)
	// give returns the key from stored (bind-KIND.key).
	give(ctx context.Context, h filevault.IdentityHome, stored []byte) ([]byte, error)
	// drop removes what keep stored outside bind-KIND.key.
	drop(ctx context.Context, h filevault.IdentityHome) error
}

// keeperOf is the keeper of kind; for plugin, identity is the plugin
// identity to bind to ("" when only giving or dropping).
func (a *App) keeperOf(kind, identity string) (keeper, error) {
	switch kind {
	case "os":
		return osKeeper{}, nil
	case "tpm":
		return a.tpmKeeper()
	case "plugin":
		return &pluginKeeper{app: a, identity: identity}, nil
	}
	return nil, usagef("unknown binding %q (one of os, tpm, plugin)", kind)
}

// deviceKeyService is the service under which the OS store keeps binding
// keys, each named by its identity's public key: apart from the user's
// secrets (service "kr" or --service), so that no `kr set` can overwrite
// one and `kr ls` never lists one.
const deviceKeyService = "kr-device-key"

// osKeeper keeps the key in the OS credential store, which the login
// opens: anything the user runs may read it there.
type osKeeper struct{}

func (osKeeper) what() string {
	switch runtime.GOOS {
	case "darwin":
		return "the login Keychain"
	case "windows":
		return "Credential Manager"
	}
	return "the login keyring (Secret Service)"
}

func (osKeeper) open(ctx context.Context) (backends.Backend, error) {
	switch runtime.GOOS {
	case "darwin":
		return keychain.Open(ctx, keychain.Options{Service: deviceKeyService})
	case "windows":
		return dpapi.Open(ctx, dpapi.Options{Service: deviceKeyService})
	}
	return secretservice.Open(ctx, secretservice.Options{Service: deviceKeyService})
}

func closeStore(b backends.Backend) {
	if c, ok := b.(io.Closer); ok {
		c.Close()
	}
}

func (k osKeeper) keep(ctx context.Context, h filevault.IdentityHome, key []byte) ([]byte, error) {
	b, err := k.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeStore(b)
	return nil, b.Set(ctx, h.Recipient, key)
}

func (k osKeeper) give(ctx context.Context, h filevault.IdentityHome, _ []byte) ([]byte, error) {
	b, err := k.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeStore(b)
	return b.Get(ctx, h.Recipient)
}

func (k osKeeper) drop(ctx context.Context, h filevault.IdentityHome) error {
	b, err := k.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore(b)
	if err := b.Delete(ctx, h.Recipient); err != nil && !errors.Is(err, backends.ErrNotFound) {
		return err
	}
	return nil
}

// bindingKey asks kind's keeper for the binding key of h.
func (a *App) bindingKey(ctx context.Context, h filevault.IdentityHome, kind string) ([]byte, error) {
	k, err := a.keeperOf(kind, "")
	if err != nil {
		return nil, err
	}
	stored, err := h.Keeper(kind)
	if err != nil {
		return nil, err
	}
	key, err := k.give(ctx, h, stored)
	if err != nil {
		return nil, fmt.Errorf("%s did not give the key: %w", k.what(), err)
	}
	return key, nil
}

// viaBinding reads s with a device binding of its identity: ok is false
// when the identity has none, or none opened (each failure is told once
// on stderr, and the passphrase is asked next). With useAgent a binding
// that asked the device for more than a stored item (a TPM, a plugin's
// token) unlocks the agent, as a typed passphrase does, so the next read
// asks nothing; the OS store's key is read in this process each time, as
// KR_PASSPHRASE is.
func (d *vaultDecrypter) viaBinding(ctx context.Context, s filevault.Sealed, useAgent bool) (plain []byte, ok bool, err error) {
	h := s.Home()
	if h.Dir == "" {
		return nil, false, nil
	}
	if kd := d.bound[h.Recipient]; kd != nil {
		plain, err := kd.Decrypt(ctx, s)
		return plain, true, err
	}
	if d.tried[h.Recipient] {
		return nil, false, nil
	}
	if d.tried == nil {
		d.tried = map[string]bool{}
	}
	d.tried[h.Recipient] = true
	kinds, err := h.Bindings()
	if err != nil || len(kinds) == 0 {
		return nil, false, nil
	}
	a := d.app
	for _, kind := range kinds {
		key, err := a.bindingKey(ctx, h, kind)
		if err == nil && useAgent && kind != "os" {
			var wrapped []byte
			if wrapped, err = h.BindingFile(kind); err == nil {
				c, aerr := a.unlockAgent(ctx, h.Recipient, wrapped, key, agent.DefaultTTL, 0)
				if aerr == nil {
					clear(key)
					a.keepAgentConn(c)
					h.NoteUnlock(kind)
					plain, err := d.decrypt(ctx, c, h.Recipient, s.Ciphertext)
					return plain, true, err
				}
				// No agent to be had: read in this process.
			}
		}
		var kd *filevault.KeyDecrypter
		if err == nil {
			kd, err = h.OpenBinding(kind, key)
			clear(key)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, true, err
			}
			fmt.Fprintf(a.IO.ErrOut, "kr: the %s binding of %s did not open it: %v\n", kind, bindingOwner(s), err)
			continue
		}
		if d.bound == nil {
			d.bound = map[string]*filevault.KeyDecrypter{}
		}
		d.bound[h.Recipient] = kd
		h.NoteUnlock(kind)
		plain, err := kd.Decrypt(ctx, s)
		return plain, true, err
	}
	d.fellBack = h
	return nil, false, nil
}

// bindingOwner names whose identity s is read with, in a notice.
func bindingOwner(s filevault.Sealed) string {
	if s.Personal {
		return "your identity"
	}
	return "the vault " + s.Vault
}

// unlockViaBinding is kr unlock's device-binding step, after the agent and
// KR_IDENTITY(_FILE) and before any passphrase, as for reads: v's identity
// goes to the agent opened by a binding's key. c is nil when the identity
// has none or none opened (each failure is told once on stderr, and the
// passphrase is asked next); how names the binding used.
func (a *App) unlockViaBinding(ctx context.Context, v *filevault.Vault, id string, ttl, idle time.Duration) (c *agent.Client, how string, err error) {
	h, err := v.UnlockHome()
	if err != nil || h.Dir == "" || h.Recipient != id {
		return nil, "", nil
	}
	kinds, err := h.Bindings()
	if err != nil || len(kinds) == 0 {
		return nil, "", nil
	}
	owner := "the vault " + v.Dir()
	if shared, _ := v.Shared(); shared {
		owner = "your identity"
	}
	for _, kind := range kinds {
		key, err := a.bindingKey(ctx, h, kind)
		var wrapped []byte
		if err == nil {
			wrapped, err = h.BindingFile(kind)
		}
		if err == nil {
			c, err = a.unlockAgent(ctx, id, wrapped, key, ttl, idle)
			clear(key)
			if err == nil {
				h.NoteUnlock(kind)
				return c, kind, nil
			}
			if !errors.Is(err, filevault.ErrBadPassphrase) {
				// The agent itself failed: a passphrase would fare no better.
				return nil, "", err
			}
		}
		if ctx.Err() != nil {
			return nil, "", err
		}
		fmt.Fprintf(a.IO.ErrOut, "kr: the %s binding of %s did not open it: %v\n", kind, owner, err)
	}
	return nil, "", nil
}
