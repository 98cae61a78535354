package cli

// This file is how the file vault decrypts in the CLI: through the agent,
// else with a passphrase in this process.

import (
	"context"
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/ipc"
)

// decrypter is how the file vault reads: through the agent when it holds
// the vault unlocked; else, when no agent runs or it answers "locked", with
// the passphrase (an agent that fails to answer is an error: see
// viaAgent). A passphrase typed at the
// terminal or in a dialog unlocks the agent (started if needed) so the
// next command asks nothing; one from KR_PASSPHRASE(_FILE) is used in this process only, so
// scripts and CI leave no agent behind unasked.
func (a *App) decrypter() filevault.Decrypter {
	d := &vaultDecrypter{app: a}
	d.local = &filevault.PassphraseDecrypter{Passphrase: func(ctx context.Context) ([]byte, error) {
		return a.passphrase(ctx, d.prompt(d.reading))
	}}
	return d
}

type vaultDecrypter struct {
	app   *App
	local *filevault.PassphraseDecrypter
	keys  *filevault.KeyDecrypter // from KR_IDENTITY(_FILE), read once
	// bound are identities opened by a device binding in this process,
	// by public key; tried, the identities whose bindings were asked.
	bound map[string]*filevault.KeyDecrypter
	tried map[string]bool
	// fellBack is an identity whose bindings all failed, so that the
	// passphrase that opens it instead is recorded as its last unlock.
	fellBack filevault.IdentityHome
	// reading is the file being decrypted, for the wording of a prompt
	// the local decrypter shows (a Decrypter is used on one goroutine).
	reading filevault.Sealed
}

// prompt is the ask for the passphrase that opens s: the secret, its
// vault, the key and who asked.
func (d *vaultDecrypter) prompt(s filevault.Sealed) secretPrompt {
	return d.app.unlockPrompt(s.Vault, s.Recipient, s.Personal, s.Name, "read from %s")
}

// Decrypt tries the unlock sources in DESIGN's order: the agent (already
// unlocked), KR_IDENTITY_FILE / KR_IDENTITY, a device binding (bind.go),
// KR_PASSPHRASE_FILE, KR_PASSPHRASE, the terminal, a pinentry dialog.
func (d *vaultDecrypter) Decrypt(ctx context.Context, s filevault.Sealed) ([]byte, error) {
	a := d.app
	d.reading = s
	if a.agentDisabled() {
		return d.withoutAgent(ctx, s)
	}
	if s.Recipient == "" {
		// A shared vault with no identity of yours to unlock: only keys
		// from the environment can read it.
		keys, err := d.envKeys()
		if keys == nil && err == nil {
			_, err = s.IdentityFile()
		}
		if err != nil {
			return nil, err
		}
		return keys.Decrypt(ctx, s)
	}
	id, ct := s.Recipient, s.Ciphertext
	plain, err := d.viaAgent(ctx, id, ct)
	switch {
	case err == nil:
		return plain, nil
	case errors.Is(err, errNoAgentOfOurs), errors.Is(err, agent.ErrLocked):
		// Only now may a key or passphrase of this process stand in.
	default:
		return nil, err
	}
	if keys, err := d.envKeys(); keys != nil || err != nil {
		if err != nil {
			return nil, err
		}
		return keys.Decrypt(ctx, s)
	}
	if plain, ok, err := d.viaBinding(ctx, s, true); ok {
		return plain, err
	}
	if a.passphraseInEnv() || !a.canAsk() {
		return d.noteFallback(d.local.Decrypt(ctx, s))
	}
	pass, err := a.passphrase(ctx, d.prompt(s))
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	wrapped, err := s.IdentityFile()
	if err != nil {
		return nil, err
	}
	c, err := a.unlockAgent(ctx, id, wrapped, pass, agent.DefaultTTL, 0)
	if err != nil {
		if errors.Is(err, filevault.ErrBadPassphrase) {
			return nil, err
		}
		// No agent to be had: read with the passphrase in this process.
		p := append([]byte(nil), pass...)
		d.local = &filevault.PassphraseDecrypter{Passphrase: func(context.Context) ([]byte, error) { return p, nil }}
		return d.local.Decrypt(ctx, s)
	}
	a.keepAgentConn(c)
	return d.noteFallback(d.decrypt(ctx, c, id, ct))
}

func (d *vaultDecrypter) withoutAgent(ctx context.Context, s filevault.Sealed) ([]byte, error) {
	keys, err := d.envKeys()
	if err != nil {
		return nil, err
	}
	if keys != nil {
		return keys.Decrypt(ctx, s)
	}
	if plain, ok, err := d.viaBinding(ctx, s, false); ok {
		return plain, err
	}
	return d.noteFallback(d.local.Decrypt(ctx, s))
}

// noteFallback records, for an identity whose bindings failed, that a
// passphrase opened it.
func (d *vaultDecrypter) noteFallback(plain []byte, err error) ([]byte, error) {
	if err == nil && d.fellBack.Dir != "" {
		d.fellBack.NoteUnlock("passphrase")
		d.fellBack = filevault.IdentityHome{}
	}
	return plain, err
}

func (d *vaultDecrypter) envKeys() (*filevault.KeyDecrypter, error) {
	if d.keys != nil {
		return d.keys, nil
	}
	k, err := d.app.identityFromEnv()
	d.keys = k
	return k, err
}

// errNoAgentOfOurs: no agent runs (or none that is ours could: see
// ipc.ErrUnsafeDir and ipc.ErrPeer), so a local unlock source may serve.
var errNoAgentOfOurs = errors.New("no agent")

// viaAgent decrypts through the running agent. A busy agent is waited for
// under ctx, and a failure to talk to it is an error about the agent, not
// about the file and not a reason to run scrypt in every client instead.
func (d *vaultDecrypter) viaAgent(ctx context.Context, id string, ct []byte) ([]byte, error) {
	a := d.app
	c, fresh, err := a.agentConn(ctx)
	if errors.Is(err, ipc.ErrNoAgent) || errors.Is(err, ipc.ErrUnsafeDir) || errors.Is(err, ipc.ErrPeer) {
		return nil, errNoAgentOfOurs
	}
	if err != nil {
		return nil, a.agentFailed(err)
	}
	plain, err := d.decrypt(ctx, c, id, ct)
	stopped, err := a.staleAgent(ctx, err)
	if stopped {
		return nil, errNoAgentOfOurs // an older kr's agent, now stopped
	}
	var ce *agent.ConnError
	if errors.As(err, &ce) {
		a.dropAgentConn()
		if !fresh && ctx.Err() == nil {
			// The agent drops a connection idle past its request timeout:
			// a connection kept from an earlier read is dialled afresh, once.
			return d.viaAgent(ctx, id, ct)
		}
	}
	return plain, err
}

func (d *vaultDecrypter) decrypt(ctx context.Context, c *agent.Client, id string, ct []byte) ([]byte, error) {
	plain, err := c.WithContext(ctx).Decrypt(id, ct)
	var ce *agent.ConnError
	if errors.As(err, &ce) {
		return nil, d.app.agentFailed(err)
	}
	return plain, err
}

// agentFailed words a failure to reach or hear the agent: an error about
// the agent, never about the file it was asked to read.
func (a *App) agentFailed(err error) error {
	path, _ := a.agentPath()
	return withHint(&agentError{path: path, err: err},
		"'kr agent status' shows the agent; 'kr agent stop' ends it, and KR_NO_AGENT=1 reads without it")
}

// agentError is a failure to talk to a running agent. It is
// backends.ErrUnavailable, so the vault reports it as it is and not as a
// damaged file, and it keeps the cause (a context's deadline: exit 4).
type agentError struct {
	path string
	err  error
}

func (e *agentError) Error() string {
	return fmt.Sprintf("the agent at %s did not answer: %v", e.path, e.err)
}
func (e *agentError) Unwrap() []error { return []error{backends.ErrUnavailable, e.err} }
