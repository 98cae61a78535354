package filevault

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"filippo.io/age"
)

// ErrWrongIdentity means an identity given to kr (KR_IDENTITY,
// KR_IDENTITY_FILE, your personal identity) is not among a vault's
// recipients: a mistake in the setup, not a damaged file.
var ErrWrongIdentity = errors.New("identity is not a recipient of the vault")

// IdentityError means a key kr was given to read a vault cannot be used:
// KR_IDENTITY or KR_IDENTITY_FILE is not an age identity, or an identity
// file (identity.age) is truncated, damaged or another vault's. Source
// names it (the variable, or the file's path); the secret's own file is
// not at fault, and the vault reports the error as it is.
type IdentityError struct {
	Source string
	Err    error
}

func (e *IdentityError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *IdentityError) Unwrap() error { return e.Err }

// ParseIdentities reads age identities in age's identity file format (one
// AGE-SECRET-KEY-1... per line; blank lines and # comments allowed) from
// source (a variable's or a file's name). The error never quotes the
// input: it is a secret.
func ParseIdentities(b []byte, source string) ([]age.Identity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, &IdentityError{Source: source, Err: errors.New("not an age identity file (lines of AGE-SECRET-KEY-1...)")}
	}
	return ids, nil
}

// KeyDecrypter decrypts with identities held in this process: no scrypt,
// no agent. Source names where they came from, for errors.
type KeyDecrypter struct {
	Identities []age.Identity
	Source     string
}

func (d *KeyDecrypter) Decrypt(_ context.Context, s Sealed) ([]byte, error) {
	plain, err := decryptLimited(s.Ciphertext, maxCiphertext, d.Identities...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		return nil, fmt.Errorf("%w: %s holds no key this file is encrypted to", ErrWrongIdentity, d.Source)
	}
	return plain, err
}

// Recipients lists the public keys of d's X25519 identities.
func (d *KeyDecrypter) Recipients() []string {
	var out []string
	for _, id := range d.Identities {
		if x, ok := id.(*age.X25519Identity); ok {
			out = append(out, x.Recipient().String())
		}
	}
	return out
}
