package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// parseIdentityFile finds the AGE-SECRET-KEY-1 line in an age identity
// file and returns its 32-byte scalar, decoded from the bytes without
// ever making a Go string of the key (strings cannot be wiped).
func parseIdentityFile(plain []byte) ([]byte, error) {
	for _, line := range bytes.Split(plain, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		hrp, data, err := bech32Decode(line)
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

// recipientOf is the public key of scalar and its age1... recipient.
func recipientOf(scalar []byte) (id string, pub []byte, err error) {
	pub, err = x25519(scalar, basepoint)
	if err != nil {
		return "", nil, err
	}
	id, err = bech32Encode("age", pub)
	return id, pub, err
}

// x25519Identity unwraps age's X25519 stanzas with a scalar borrowed from a
// locked buffer for the duration of one Unwrap.
type x25519Identity struct {
	scalar []byte // not owned
	pub    []byte
}

const x25519Label = "age-encryption.org/v1/X25519"

var errNoMatch = errors.New("no matching stanza")

func (i *x25519Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		key, err := i.unwrap(s)
		if errors.Is(err, errNoMatch) {
			continue
		}
		return key, err
	}
	return nil, age.ErrIncorrectIdentity
}

func (i *x25519Identity) unwrap(s *age.Stanza) ([]byte, error) {
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

// bech32 (BIP 173), as age uses it, on bytes.
const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

func polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		b := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (b>>uint(i))&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func hrpExpand(hrp []byte) []byte {
	out := make([]byte, 0, len(hrp)*2+1)
	for _, c := range hrp {
		out = append(out, c>>5)
	}
	out = append(out, 0)
	for _, c := range hrp {
		out = append(out, c&31)
	}
	return out
}

func bech32Decode(s []byte) (hrp, data []byte, err error) {
	hasLower, hasUpper := false, false
	for _, c := range s {
		hasLower = hasLower || 'a' <= c && c <= 'z'
		hasUpper = hasUpper || 'A' <= c && c <= 'Z'
	}
	if hasLower && hasUpper {
		return nil, nil, errors.New("mixed case")
	}
	lower := bytes.ToLower(s)
	defer clear(lower)
	pos := bytes.LastIndexByte(lower, '1')
	if pos < 1 || pos+7 > len(lower) {
		return nil, nil, errors.New("malformed bech32")
	}
	hrp = append([]byte(nil), lower[:pos]...) // "age-secret-key-": not secret
	vals := make([]byte, 0, len(lower)-pos-1)
	defer clear(vals)
	for _, c := range lower[pos+1:] {
		i := strings.IndexByte(charset, c)
		if i < 0 {
			return nil, nil, errors.New("invalid bech32 character")
		}
		vals = append(vals, byte(i))
	}
	check := append(hrpExpand(hrp), vals...)
	defer clear(check)
	if polymod(check) != 1 {
		return nil, nil, errors.New("bad bech32 checksum")
	}
	data, err = convertBits(vals[:len(vals)-6], 5, 8, false)
	return hrp, data, err
}

func bech32Encode(hrp string, data []byte) (string, error) {
	vals, err := convertBits(data, 8, 5, true)
	if err != nil {
		return "", err
	}
	chk := polymod(append(append(hrpExpand([]byte(hrp)), vals...), 0, 0, 0, 0, 0, 0)) ^ 1
	var b strings.Builder
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range vals {
		b.WriteByte(charset[v])
	}
	for i := 0; i < 6; i++ {
		b.WriteByte(charset[(chk>>uint(5*(5-i)))&31])
	}
	return b.String(), nil
}

func convertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	var acc uint32
	var bits uint
	out := make([]byte, 0, len(data)*int(from)/int(to)+1)
	maxv := uint32(1)<<to - 1
	for _, v := range data {
		acc = acc<<from | uint32(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	acc &= uint32(1)<<bits - 1 // keep no consumed bits of the key around
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, errors.New("invalid padding")
	}
	return out, nil
}
