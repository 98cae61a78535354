package agecrypto

import (
	"crypto/subtle"
	"errors"

	"filippo.io/edwards25519/field"
)

// x25519 is RFC 7748's X25519 with the scalar read bit by bit from the
// caller's (locked) buffer and clamped on the fly. crypto/ecdh, and
// x/crypto/curve25519 on top of it, copy the scalar into a heap-allocated
// PrivateKey that nobody wipes; this keeps no copy of it.
func x25519(scalar, point []byte) ([]byte, error) {
	if len(scalar) != 32 || len(point) != 32 {
		return nil, errors.New("x25519: bad input length")
	}
	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	if _, err := x1.SetBytes(point); err != nil {
		return nil, err
	}
	x2.One()
	x3.Set(&x1)
	z3.One()
	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(scalar[pos/8]>>uint(pos&7)) & 1
		switch {
		case pos == 254:
			b = 1 // clamping: the top bit is set
		case pos < 3:
			b = 0 // clamping: a multiple of the cofactor
		}
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)
		z3.Mult32(&tmp1, 121666)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)
	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	out := x2.Bytes()
	var zero [32]byte
	if subtle.ConstantTimeCompare(out, zero[:]) == 1 {
		return nil, errors.New("x25519: low-order point")
	}
	return out, nil
}

var basepoint = []byte{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
