package xeddsa

// Decoding age's keys, so that signing and checking can work on the bytes
// of the keys the vault already names.

import (
	"errors"
	"strings"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/bech32"
)

// RecipientBytes returns the 32-byte X25519 public key of an age1
// recipient.
func RecipientBytes(recipient string) ([]byte, error) {
	hrp, data, err := bech32.Decode([]byte(recipient))
	if err != nil || string(hrp) != "age" || len(data) != 32 {
		return nil, errors.New("xeddsa: not an age X25519 recipient")
	}
	return data, nil
}

// IdentityScalar returns the 32-byte scalar of an age X25519 identity; the
// caller wipes it. (age keeps its own copy in a string nobody can wipe:
// the identity was already in memory for the whole command.)
func IdentityScalar(id *age.X25519Identity) ([]byte, error) {
	s := []byte(id.String())
	defer clear(s)
	hrp, data, err := bech32.Decode(s)
	if err != nil || !strings.EqualFold(string(hrp), "age-secret-key-") || len(data) != 32 {
		clear(data)
		return nil, errors.New("xeddsa: not an age X25519 identity")
	}
	return data, nil
}

// VerifyRecipient is Verify for an age1 recipient.
func VerifyRecipient(recipient string, msg, sig []byte) bool {
	u, err := RecipientBytes(recipient)
	return err == nil && Verify(u, msg, sig)
}
