// Package xeddsa signs with an age X25519 identity and checks signatures
// against its age1 recipient: the signature scheme Signal calls XEdDSA.
//
// A shared vault needs each member's writes signed, and a member is known
// by their age recipient: that is the key a teammate compares by
// fingerprint and accepts. Signing with the same scalar binds the two by
// arithmetic instead of by a statement someone must check: the Ed25519
// public key is the Edwards form of the X25519 public key (sign bit 0),
// so nobody can put another signing key beside a member's age key, no new
// secret is stored, and whatever holds the identity (the CLI's unwrap, an
// identity file, the agent) can sign.
//
// The signatures are plain Ed25519 signatures: crypto/ed25519 verifies
// them against PublicKey's result. The signing nonce is derived from the
// key, the message and 64 random bytes, as XEdDSA specifies.
package xeddsa

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// SignatureSize is the length of a signature.
const SignatureSize = ed25519.SignatureSize

// noncePrefix is XEdDSA's hash1 prefix: 0xFE then 31 bytes of 0xFF, a
// value no Ed25519 encoding starts with.
var noncePrefix = func() []byte {
	p := make([]byte, 32)
	for i := range p {
		p[i] = 0xFF
	}
	p[0] = 0xFE
	return p
}()

// Sign signs msg with the X25519 scalar (32 bytes, as age stores it; it is
// clamped here as X25519 clamps it). The scalar is not kept.
func Sign(scalar, msg []byte) ([]byte, error) {
	if len(scalar) != 32 {
		return nil, errors.New("xeddsa: the key is not 32 bytes")
	}
	a, err := new(edwards25519.Scalar).SetBytesWithClamping(scalar)
	if err != nil {
		return nil, err
	}
	defer a.Set(edwards25519.NewScalar())
	A := new(edwards25519.Point).ScalarBaseMult(a)
	pub := A.Bytes()
	if pub[31]&0x80 != 0 {
		// The public key has sign bit 0, the one the Montgomery form
		// cannot tell: sign with -a where aB has the other sign.
		a.Negate(a)
		pub = new(edwards25519.Point).Negate(A).Bytes()
	}
	z := make([]byte, 64)
	if _, err := rand.Read(z); err != nil {
		return nil, err
	}
	h := sha512.New()
	h.Write(noncePrefix)
	ab := a.Bytes()
	h.Write(ab)
	clear(ab)
	h.Write(msg)
	h.Write(z)
	digest := h.Sum(nil)
	r, err := new(edwards25519.Scalar).SetUniformBytes(digest)
	clear(digest)
	if err != nil {
		return nil, err
	}
	defer r.Set(edwards25519.NewScalar())
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h.Reset()
	h.Write(R)
	h.Write(pub)
	h.Write(msg)
	k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	s := new(edwards25519.Scalar).MultiplyAdd(k, a, r)
	return append(R, s.Bytes()...), nil
}

// PublicKey is the Ed25519 public key of the X25519 public key u (its
// Montgomery u-coordinate, 32 bytes): y = (u-1)/(u+1), sign bit 0.
func PublicKey(u []byte) (ed25519.PublicKey, error) {
	if len(u) != 32 {
		return nil, errors.New("xeddsa: the public key is not 32 bytes")
	}
	var fu field.Element
	if _, err := fu.SetBytes(u); err != nil {
		return nil, err
	}
	// SetBytes ignores the top bit and reduces mod p; a key in another
	// encoding of the same u is refused, so each u has one signing key.
	if !bytes.Equal(fu.Bytes(), u) {
		return nil, errors.New("xeddsa: the public key is not canonical")
	}
	one := new(field.Element).One()
	den := new(field.Element).Add(&fu, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return nil, errors.New("xeddsa: the public key has no Edwards form")
	}
	num := new(field.Element).Subtract(&fu, one)
	y := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	pub := y.Bytes()
	pub[31] &= 0x7F
	if _, err := new(edwards25519.Point).SetBytes(pub); err != nil {
		return nil, errors.New("xeddsa: the public key is not on the curve")
	}
	return pub, nil
}

// Verify reports whether sig is a valid signature of msg by the X25519
// public key u.
func Verify(u, msg, sig []byte) bool {
	pub, err := PublicKey(u)
	if err != nil || len(sig) != SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}
