package secretservice

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Transfer algorithms of the Secret Service API (section "Transfer of Secrets").
const (
	algorithmDH    = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
	algorithmPlain = "plain"
)

// oakleyGroup2 is the 1024-bit MODP prime of RFC 2409 section 6.2, the
// "Second Oakley Group" the spec names; its generator is 2.
var oakleyGroup2 = func() *big.Int {
	p, ok := new(big.Int).SetString(
		"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
			"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
			"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
			"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
			"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"+
			"FFFFFFFFFFFFFFFF", 16)
	if !ok {
		panic("secretservice: bad group prime")
	}
	return p
}()

const (
	groupBytes = 128 // size of the prime, and of the padded shared secret
	aesKeySize = 16
)

var errBadPadding = errors.New("secret from the service has invalid padding")

// dhKeyPair is our half of the key agreement. The private exponent lives
// only until the service's public key arrives.
type dhKeyPair struct {
	private *big.Int
	public  []byte
}

// privateBytes is the size of our private exponent. 256 bits give about 128
// bits of security against discrete-log attacks on the exponent (RFC 3526
// section 8 and NIST SP 800-56A ask for twice the group's strength; this
// 1024-bit group has about 80), and make our two exponentiations four times
// cheaper than a full-size exponent, which shows in every kr process's start.
const privateBytes = 32

func newDHKeyPair(random io.Reader) (*dhKeyPair, error) {
	buf := make([]byte, privateBytes)
	defer clear(buf)
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("read random key: %w", err)
	}
	// Offset by 2 so the exponent is never 0 or 1; it stays far below p-2.
	x := new(big.Int).SetBytes(buf)
	x.Add(x, big.NewInt(2))
	y := new(big.Int).Exp(big.NewInt(2), x, oakleyGroup2)
	// Always the prime's length: KWallet refuses any other size ("Client
	// public key size is invalid"), and y.Bytes() drops leading zero bytes,
	// which is one key in 256.
	public := make([]byte, groupBytes)
	y.FillBytes(public)
	return &dhKeyPair{private: x, public: public}, nil
}

// wipe zeroes the private exponent's words; big.Int has no API for it.
func (k *dhKeyPair) wipe() {
	if k == nil || k.private == nil {
		return
	}
	clear(k.private.Bits())
	k.private.SetInt64(0)
}

// deriveKey combines the service's public key with ours and derives the
// AES-128 key: HKDF-SHA256 with no salt and no info, over the shared secret
// left-padded to the prime's length (what gnome-keyring, KeePassXC and
// libsecret do; a shorter encoding breaks one session in 256).
//
// The public key is checked by value, not by length: KWallet encodes it
// signed, 129 bytes with a leading zero whenever the top bit is set, and
// other services drop leading zero bytes. Only 2..p-2 is a valid key.
func (k *dhKeyPair) deriveKey(servicePublic []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(servicePublic)
	pMinus1 := new(big.Int).Sub(oakleyGroup2, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pMinus1) >= 0 {
		return nil, errors.New("service sent an invalid public key")
	}
	s := new(big.Int).Exp(y, k.private, oakleyGroup2)
	shared := make([]byte, groupBytes)
	defer clear(shared)
	s.FillBytes(shared)
	clear(s.Bits())
	key, err := hkdf.Key(sha256.New, shared, nil, "", aesKeySize)
	if err != nil {
		return nil, fmt.Errorf("derive session key: %w", err)
	}
	return key, nil
}

// encryptSecret pads plaintext with PKCS#7 and encrypts it with AES-128-CBC
// under a fresh random IV.
func encryptSecret(key, plaintext []byte, random io.Reader) (iv, ciphertext []byte, err error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	iv = make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(random, iv); err != nil {
		return nil, nil, fmt.Errorf("read random iv: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	ciphertext = make([]byte, len(buf))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, buf)
	clear(buf)
	return iv, ciphertext, nil
}

// decryptSecret reverses encryptSecret and checks every padding byte, so a
// truncated or corrupted reply is an error and never a wrong value.
func decryptSecret(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("secret from the service has a %d-byte iv, want %d", len(iv), aes.BlockSize)
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("secret from the service is %d bytes, not a whole number of blocks", len(ciphertext))
	}
	buf := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, ciphertext)
	n, ok := unpadLen(buf)
	if !ok {
		clear(buf)
		return nil, errBadPadding
	}
	clear(buf[n:])
	return buf[:n:n], nil
}

// unpadLen returns the length of buf without its PKCS#7 padding. It looks at
// the whole last block in constant time: cheap, and no padding oracle even
// though the peer here is the service itself.
func unpadLen(buf []byte) (int, bool) {
	pad := int(buf[len(buf)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	tail := buf[len(buf)-aes.BlockSize:]
	for i, b := range tail {
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-pad, i)
		same := subtle.ConstantTimeByteEq(b, byte(pad))
		// Outside the padding anything goes; inside it every byte must equal pad.
		good &= same | (inPad ^ 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(buf) - pad, true
}

// randReader is where every key and IV comes from.
func randReader() io.Reader { return rand.Reader }
