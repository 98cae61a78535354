package xeddsa

import (
	"crypto/ed25519"
	"testing"

	"filippo.io/age"
)

func TestSignVerify(t *testing.T) {
	for range 20 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		scalar, err := IdentityScalar(id)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("a message")
		sig, err := Sign(scalar, msg)
		if err != nil {
			t.Fatal(err)
		}
		pub := id.Recipient().String()
		if !VerifyRecipient(pub, msg, sig) {
			t.Fatal("a good signature does not verify")
		}
		// Plain Ed25519 verifies it against the converted key.
		u, _ := RecipientBytes(pub)
		ek, err := PublicKey(u)
		if err != nil || !ed25519.Verify(ek, msg, sig) {
			t.Fatal("crypto/ed25519 does not verify the signature")
		}
		if VerifyRecipient(pub, []byte("another message"), sig) {
			t.Fatal("a signature verifies another message")
		}
		other, _ := age.GenerateX25519Identity()
		if VerifyRecipient(other.Recipient().String(), msg, sig) {
			t.Fatal("a signature verifies under another key")
		}
		bad := append([]byte(nil), sig...)
		bad[10] ^= 1
		if VerifyRecipient(pub, msg, bad) {
			t.Fatal("a changed signature verifies")
		}
	}
}

func TestPublicKeyRefusesBadKeys(t *testing.T) {
	minusOne := make([]byte, 32) // p-1: u+1 = 0
	minusOne[0] = 0xec
	for i := 1; i < 31; i++ {
		minusOne[i] = 0xff
	}
	minusOne[31] = 0x7f
	if _, err := PublicKey(minusOne); err == nil {
		t.Error("u = -1 accepted")
	}
	high := make([]byte, 32)
	high[31] = 0x80
	if _, err := PublicKey(high); err == nil {
		t.Error("a non-canonical u accepted")
	}
	if _, err := PublicKey(make([]byte, 31)); err == nil {
		t.Error("a short key accepted")
	}
}
