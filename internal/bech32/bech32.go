// Package bech32 is BIP 173's encoding as age writes its keys, on byte
// slices the caller can wipe: an identity's secret key passes through
// Decode, and nothing of it is left in a string.
package bech32

import (
	"bytes"
	"errors"
	"strings"
)

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

// Decode returns the human-readable part and the data of s. The data of
// an identity is its key: the caller wipes it.
func Decode(s []byte) (hrp, data []byte, err error) {
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

// Encode writes data under hrp, as age writes a recipient.
func Encode(hrp string, data []byte) (string, error) {
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
		clear(out) // key bytes, decoded so far
		return nil, errors.New("invalid padding")
	}
	return out, nil
}
