package cli

// How the CLI signs a signed shared vault's writes: with the key of
// KR_IDENTITY(_FILE) when it is a member's, else with the personal
// identity, through the agent when it holds it unlocked (the key never
// leaves it) or unwrapped here with the passphrase.

import (
	"context"
	"errors"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/ipc"
)

var _ filevault.Signer = (*vaultDecrypter)(nil)

// SigningKey is the member the user signs as: KR_IDENTITY's key when it
// is one, else the personal identity.
func (d *vaultDecrypter) SigningKey(ctx context.Context, s filevault.Sealed, members []string) (string, error) {
	keys, err := d.envKeys()
	if err != nil {
		return "", err
	}
	if keys != nil {
		if k, err := keys.SigningKey(ctx, s, members); err == nil || s.Recipient == "" {
			return k, err
		}
	}
	return d.local.SigningKey(ctx, s, members)
}

// Sign signs as key, in DESIGN's order of unlock sources.
func (d *vaultDecrypter) Sign(ctx context.Context, s filevault.Sealed, key string, msg []byte) ([]byte, error) {
	keys, err := d.envKeys()
	if err != nil {
		return nil, err
	}
	if keys != nil {
		if sig, err := keys.Sign(ctx, s, key, msg); err == nil || key != s.Recipient {
			return sig, err
		}
	}
	if !d.app.agentDisabled() && key == s.Recipient {
		c, _, err := d.app.agentConn(ctx)
		switch {
		case err == nil:
			sig, err := c.WithContext(ctx).Sign(key, msg)
			var ce *agent.ConnError
			switch {
			case err == nil:
				return sig, nil
			case errors.As(err, &ce):
				d.app.dropAgentConn()
				return nil, d.app.agentFailed(err)
			}
			// Locked, or an agent too old to sign: the passphrase here.
		case errors.Is(err, ipc.ErrNoAgent), errors.Is(err, ipc.ErrUnsafeDir), errors.Is(err, ipc.ErrPeer):
		default:
			return nil, d.app.agentFailed(err)
		}
	}
	return d.local.Sign(ctx, s, key, msg)
}

var _ filevault.Signer = (*retryDecrypter)(nil)

func (d *retryDecrypter) SigningKey(ctx context.Context, s filevault.Sealed, members []string) (string, error) {
	sg, ok := d.inner.(filevault.Signer)
	if !ok {
		return "", errors.New("this kr cannot sign")
	}
	return sg.SigningKey(ctx, s, members)
}

// Sign lets a wrong passphrase typed at the terminal be typed again, as
// Decrypt does.
func (d *retryDecrypter) Sign(ctx context.Context, s filevault.Sealed, key string, msg []byte) ([]byte, error) {
	sg, ok := d.inner.(filevault.Signer)
	if !ok {
		return nil, errors.New("this kr cannot sign")
	}
	var sig []byte
	err := d.app.retryTyped("wrong passphrase",
		"check KR_PASSPHRASE_FILE or KR_PASSPHRASE; "+lostPassphraseHint, lostPassphraseHint,
		func() (bool, error) {
			typed := d.app.typed
			var err error
			sig, err = sg.Sign(ctx, s, key, msg)
			return d.app.typed != typed, err
		})
	return sig, err
}
