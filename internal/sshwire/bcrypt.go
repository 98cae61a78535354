package sshwire

import (
	"crypto/sha512"
	"encoding/binary"

	"golang.org/x/crypto/blowfish"
)

// bcryptBlock is what each bcrypt hash encrypts: bcrypt_pbkdf's own
// 32-byte constant (OpenBSD's bcrypt_pbkdf.c), in its cipher's words.
var bcryptBlock = []byte("OxychromaticBlowfishSwatDynamite")

// bcryptHash is bcrypt_pbkdf's inner function: an expensive Blowfish key
// schedule over the SHA-512 of the passphrase and of the salt, then the
// constant encrypted 64 times; the words come out little-endian.
func bcryptHash(out, sha2pass, sha2salt []byte) {
	c, err := blowfish.NewSaltedCipher(sha2pass, sha2salt)
	if err != nil {
		panic(err) // a 64-byte key and salt are always valid
	}
	for range 64 {
		blowfish.ExpandKey(sha2salt, c)
		blowfish.ExpandKey(sha2pass, c)
	}
	var buf [32]byte
	copy(buf[:], bcryptBlock)
	for range 64 {
		for i := 0; i < len(buf); i += blowfish.BlockSize {
			c.Encrypt(buf[i:], buf[i:])
		}
	}
	for i := 0; i < len(buf); i += 4 {
		binary.LittleEndian.PutUint32(out[i:], binary.BigEndian.Uint32(buf[i:]))
	}
}

// bcryptPBKDF derives keyLen bytes from pass and salt in rounds, as
// OpenSSH encrypts its private key files. Each 32-byte block of bcrypt
// output is spread over the key with a stride, so every byte of the key
// depends on the last round.
func bcryptPBKDF(pass, salt []byte, rounds, keyLen int) []byte {
	const hashLen = 32
	stride := (keyLen + hashLen - 1) / hashLen
	amt := (keyLen + stride - 1) / stride
	key := make([]byte, keyLen)
	sha2pass := sha512.Sum512(pass)
	defer clear(sha2pass[:])
	countSalt := append(append([]byte(nil), salt...), 0, 0, 0, 0)
	var tmp, out [hashLen]byte
	defer clear(tmp[:])
	defer clear(out[:])
	for count, left := 1, keyLen; left > 0; count++ {
		binary.BigEndian.PutUint32(countSalt[len(salt):], uint32(count))
		sha2salt := sha512.Sum512(countSalt)
		bcryptHash(tmp[:], sha2pass[:], sha2salt[:])
		out = tmp
		for i := 1; i < rounds; i++ {
			sha2salt = sha512.Sum512(tmp[:])
			bcryptHash(tmp[:], sha2pass[:], sha2salt[:])
			for j := range out {
				out[j] ^= tmp[j]
			}
		}
		amt = min(amt, left)
		i := 0
		for ; i < amt; i++ {
			dest := i*stride + count - 1
			if dest >= keyLen {
				break
			}
			key[dest] = out[i]
		}
		left -= i
	}
	return key
}
