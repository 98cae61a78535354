package agecrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"

	"golang.org/x/crypto/salsa20/salsa"
)

// scryptKey is scrypt (RFC 7914) with p = 1, over a password held as
// bytes. x/crypto/scrypt reaches crypto/pbkdf2, which takes the password as
// a string: a copy that can never be wiped.
func scryptKey(password, salt []byte, N, r, keyLen int) ([]byte, error) {
	if N <= 1 || N&(N-1) != 0 || r <= 0 {
		return nil, errors.New("scrypt: bad parameters")
	}
	b := pbkdf2SHA256(password, salt, 128*r)
	defer clear(b)
	smix(b, r, N)
	return pbkdf2SHA256(password, b, keyLen), nil
}

// pbkdf2SHA256 is PBKDF2-HMAC-SHA256 with one iteration, as scrypt uses it.
func pbkdf2SHA256(password, salt []byte, keyLen int) []byte {
	mac := hmac.New(sha256.New, password)
	out := make([]byte, 0, keyLen+sha256.Size)
	var ctr [4]byte
	for block := uint32(1); len(out) < keyLen; block++ {
		mac.Reset()
		mac.Write(salt)
		binary.BigEndian.PutUint32(ctr[:], block)
		mac.Write(ctr[:])
		out = mac.Sum(out)
	}
	return out[:keyLen]
}

// smix is scrypt's ROMix on b (128*r bytes).
func smix(b []byte, r, N int) {
	blockLen := 128 * r
	x := make([]byte, blockLen)
	y := make([]byte, blockLen)
	v, free := scratch(N * blockLen)
	defer func() { clear(x); clear(y); free() }()
	copy(x, b)
	for i := 0; i < N; i++ {
		copy(v[i*blockLen:], x)
		blockMix(x, y, r)
	}
	for i := 0; i < N; i++ {
		j := int(binary.LittleEndian.Uint64(x[(2*r-1)*64:]) & uint64(N-1))
		vj := v[j*blockLen : (j+1)*blockLen]
		for k := range x {
			x[k] ^= vj[k]
		}
		blockMix(x, y, r)
	}
	copy(b, x)
}

// blockMix is scrypt's BlockMix with Salsa20/8 on b, using y as scratch.
func blockMix(b, y []byte, r int) {
	var t, out [64]byte
	copy(t[:], b[(2*r-1)*64:])
	for i := 0; i < 2*r; i++ {
		for k := 0; k < 64; k++ {
			t[k] ^= b[i*64+k]
		}
		salsa.Core208(&out, &t)
		t = out
		// Even blocks go to the first half, odd ones to the second.
		dst := (i/2 + (i%2)*r) * 64
		copy(y[dst:dst+64], t[:])
	}
	copy(b, y)
	t, out = [64]byte{}, [64]byte{}
}
