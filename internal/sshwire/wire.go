// Package sshwire is the part of SSH's formats kr needs, written for kr:
// the wire encoding (RFC 4251 section 5), public key and signature blobs
// for ed25519, ecdsa (nistp256/384/521) and rsa, SHA256 fingerprints,
// authorized_keys lines, and private key files (OpenSSH's openssh-key-v1,
// plain or encrypted with bcrypt_pbkdf, and PEM PKCS#1, SEC1 and PKCS#8).
//
// It exists so that the kr binary need not link golang.org/x/crypto/ssh,
// whose package init (it parses Diffie-Hellman primes for key exchange kr
// never does) would run at every kr start. Every parser is bounded: it reads
// from a byte slice it was given, caps every length by what is left of it,
// and names what was wrong in an error wrapping ErrMalformed.
package sshwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// ErrMalformed is wrapped by every error about bytes that are not what
// they claim to be.
var ErrMalformed = errors.New("malformed")

// maxMPInt bounds an mpint: a 16384-bit rsa modulus and its sign byte.
const maxMPInt = 16384/8 + 1

// Reader reads the SSH wire encoding from a byte slice. The first failure
// sticks: later reads return zero values, and Err or Done reports it, so a
// message's fields can be read in a row and checked once.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

// Err is the first failure, if any.
func (r *Reader) Err() error { return r.err }

// Len is how many bytes are left.
func (r *Reader) Len() int { return len(r.b) }

// Done is Err, or an error if bytes are left over.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) > 0 {
		r.fail("%d bytes after the end", len(r.b))
	}
	return r.err
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if len(r.b) < 1 {
		r.fail("truncated before a byte")
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// Bool reads a boolean: any non-zero byte is true (RFC 4251).
func (r *Reader) Bool() bool { return r.Byte() != 0 }

// Uint32 reads a big-endian uint32.
func (r *Reader) Uint32() uint32 {
	if len(r.b) < 4 {
		r.fail("truncated before a uint32")
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// Bytes reads a string (uint32 length, then that many bytes). The result
// shares the Reader's slice.
func (r *Reader) Bytes() []byte {
	n := r.Uint32()
	if r.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(r.b)) {
		r.fail("a string of %d bytes where %d are left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// Text reads a string as Go text.
func (r *Reader) Text() string { return string(r.Bytes()) }

// Fixed reads n raw bytes (no length before them).
func (r *Reader) Fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("truncated: %d bytes where %d are left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// Rest reads every byte left.
func (r *Reader) Rest() []byte {
	v := r.b
	r.b = nil
	return v
}

// MPInt reads a non-negative mpint: keys and signatures hold no negative
// numbers, and a number longer than maxMPInt bytes is refused.
func (r *Reader) MPInt() *big.Int {
	b := r.Bytes()
	if r.err != nil {
		return nil
	}
	if len(b) > maxMPInt {
		r.fail("an mpint of %d bytes", len(b))
		return nil
	}
	if len(b) > 0 && b[0]&0x80 != 0 {
		r.fail("a negative mpint")
		return nil
	}
	return new(big.Int).SetBytes(b)
}

// AppendUint32 appends v big-endian.
func AppendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// AppendBytes appends s as a string.
func AppendBytes(b, s []byte) []byte { return append(AppendUint32(b, uint32(len(s))), s...) }

// AppendText appends s as a string.
func AppendText(b []byte, s string) []byte { return append(AppendUint32(b, uint32(len(s))), s...) }

// AppendBool appends v as one byte.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// AppendMPInt appends a non-negative n as an mpint: big-endian, no
// leading zero byte but one that keeps the top bit clear, zero as empty.
func AppendMPInt(b []byte, n *big.Int) []byte {
	if n.Sign() == 0 {
		return AppendUint32(b, 0)
	}
	v := n.Bytes()
	if v[0]&0x80 != 0 {
		b = AppendUint32(b, uint32(len(v)+1))
		b = append(b, 0)
		return append(b, v...)
	}
	return AppendBytes(b, v)
}
