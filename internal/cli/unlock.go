package cli

import (
	"context"
	"errors"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends/file"
)

// decrypter is how the file vault reads: through the agent when it holds
// the vault unlocked; else with the passphrase. A passphrase typed at the
// terminal unlocks the agent (started if needed) so the next command asks
// nothing; one from KR_PASSPHRASE(_FILE) is used in this process only, so
// scripts and CI leave no agent behind unasked.
func (a *App) decrypter() file.Decrypter {
	return &vaultDecrypter{app: a, local: &file.PassphraseDecrypter{Passphrase: func(ctx context.Context) ([]byte, error) {
		return a.passphrase(ctx, "Vault passphrase: ")
	}}}
}

type vaultDecrypter struct {
	app    *App
	local  *file.PassphraseDecrypter
	client *agent.Client // kept for the process: one connection, many reads
}

func (d *vaultDecrypter) Decrypt(ctx context.Context, v *file.Vault, ct []byte) ([]byte, error) {
	a := d.app
	if a.agentDisabled() {
		return d.local.Decrypt(ctx, v, ct)
	}
	id, err := v.ID()
	if err != nil {
		return nil, err
	}
	if d.client == nil {
		if c, err := a.dialAgent(ctx); err == nil {
			d.client = c
		}
	}
	if d.client != nil {
		plain, err := d.client.Decrypt(id, ct)
		if err == nil {
			return plain, nil
		}
		if !errors.Is(err, agent.ErrLocked) {
			return nil, err
		}
	}
	if _, fromEnv, _ := a.passphraseFromEnv(); fromEnv || !a.IO.InIsTTY {
		return d.local.Decrypt(ctx, v, ct)
	}
	pass, err := a.passphrase(ctx, "Vault passphrase: ")
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	c, err := a.unlockAgent(ctx, v, pass, agent.DefaultTTL, 0)
	if err != nil {
		if errors.Is(err, file.ErrBadPassphrase) {
			return nil, err
		}
		// No agent to be had: read with the passphrase in this process.
		p := append([]byte(nil), pass...)
		d.local = &file.PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) { return p, nil }}
		return d.local.Decrypt(ctx, v, ct)
	}
	d.client = c
	return c.Decrypt(id, ct)
}
