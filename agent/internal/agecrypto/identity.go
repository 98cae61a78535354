// Package agecrypto is the agent's own code for the key operations of age
// it needs: unwrapping identity.age with a passphrase (scrypt), reading the
// AGE-SECRET-KEY-1 line (bech32), and unwrapping X25519 stanzas (the X25519
// ladder). Every secret goes in and out as a []byte its caller can wipe,
// and none is copied where it cannot be wiped: filippo.io/age takes a
// passphrase as a string, x/crypto/scrypt hands it to pbkdf2 as one, and
// crypto/ecdh copies a scalar into a PrivateKey nobody wipes. The agent
// holds keys for hours in a process hardened against being read; a Go
// string of a passphrase or key would undo that.
//
// The file format stays age's: age.DecryptHeader and age.Decrypt parse the
// headers and stream, and only the identities' Unwrap is done here. The
// CLI opens the same identity.age with filippo.io/age itself (see
// unwrapIdentity in backends/filevault) and keeps the identity for the life of
// one short command; the two are held to the same file by the agent's
// tests, which write identity.age with age's own scrypt recipient.
package agecrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"github.com/kr-keyring/kr/internal/bech32"
)

// ParseIdentity finds the AGE-SECRET-KEY-1 line in an age identity file
// and returns its 32-byte scalar, decoded from the bytes without ever
// making a Go string of the key (strings cannot be wiped). The caller owns
// the scalar and wipes it.
func ParseIdentity(plain []byte) ([]byte, error) {
	for _, line := range bytes.Split(plain, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		hrp, data, err := bech32.Decode(line)
		if err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		if !bytes.EqualFold(hrp, []byte("AGE-SECRET-KEY-")) || len(data) != 32 {
			clear(data)
			return nil, errors.New("identity: not an age X25519 secret key")
		}
		return data, nil
	}
	return nil, errors.New("identity: no key in the identity file")
}

// Recipient returns the public key of scalar and its age1... recipient.
func Recipient(scalar []byte) (id string, pub []byte, err error) {
	pub, err = x25519(scalar, basepoint)
	if err != nil {
		return "", nil, err
	}
	id, err = bech32.Encode("age", pub)
	return id, pub, err
}

// X25519Identity unwraps age's X25519 stanzas with a scalar borrowed from
// a locked buffer for the duration of one age.Decrypt.
type X25519Identity struct {
	scalar []byte // not owned
	pub    []byte
}

// NewX25519Identity returns an age.Identity for scalar, whose public key
// (from Recipient) is pub. It keeps scalar, not a copy: the caller must
// not wipe it before age.Decrypt has returned.
func NewX25519Identity(scalar, pub []byte) *X25519Identity {
	return &X25519Identity{scalar: scalar, pub: pub}
}

const x25519Label = "age-encryption.org/v1/X25519"

var errNoMatch = errors.New("no matching stanza")

func (i *X25519Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		key, err := i.unwrap(s)
		if errors.Is(err, errNoMatch) {
			continue
		}
		return key, err
	}
	return nil, age.ErrIncorrectIdentity
}

func (i *X25519Identity) unwrap(s *age.Stanza) ([]byte, error) {
	if s.Type != "X25519" {
		return nil, errNoMatch
	}
	if len(s.Args) != 1 {
		return nil, errors.New("invalid X25519 stanza")
	}
	share, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
	if err != nil || len(share) != 32 {
		return nil, errors.New("invalid X25519 stanza share")
	}
	shared, err := x25519(i.scalar, share)
	if err != nil {
		return nil, err
	}
	defer clear(shared)
	salt := make([]byte, 0, 64)
	salt = append(salt, share...)
	salt = append(salt, i.pub...)
	wrapKey := make([]byte, chacha20poly1305.KeySize)
	defer clear(wrapKey)
	if _, err := io.ReadFull(hkdf.New(sha256.New, shared, salt, []byte(x25519Label)), wrapKey); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(wrapKey)
	if err != nil {
		return nil, err
	}
	if len(s.Body) != 16+aead.Overhead() {
		return nil, errNoMatch
	}
	fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
	if err != nil {
		return nil, errNoMatch
	}
	return fileKey, nil
}
