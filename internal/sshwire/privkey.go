package sshwire

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
)

// Errors a private key file may give besides ErrMalformed ones.
var (
	// ErrPassphraseNeeded: the key is encrypted; ask and call
	// ParsePrivateKeyWithPassphrase.
	ErrPassphraseNeeded = errors.New("the key has a passphrase")
	// ErrWrongPassphrase: the passphrase does not open the key.
	ErrWrongPassphrase = errors.New("wrong passphrase")
)

// maxKDFRounds bounds bcrypt_pbkdf's rounds: ssh-keygen writes 16 unless
// told otherwise, and a file naming billions would hang kr for days.
const maxKDFRounds = 4096

// opensshMagic starts an openssh-key-v1 private key.
const opensshMagic = "openssh-key-v1\x00"

// AppendPrivateKey appends priv's type and private fields, as both the
// agent protocol's ADD_IDENTITY and OpenSSH's key files carry them.
func AppendPrivateKey(b []byte, priv crypto.Signer) ([]byte, error) {
	typ, err := KeyType(priv.Public())
	if err != nil {
		return nil, err
	}
	b = AppendText(b, typ)
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		b = AppendBytes(b, k[32:])
		b = AppendBytes(b, k)
	case *ecdsa.PrivateKey:
		q, err := k.PublicKey.Bytes()
		if err != nil {
			return nil, err
		}
		d, err := k.Bytes()
		if err != nil {
			return nil, err
		}
		defer clear(d)
		_, name := curveOf(typ)
		b = AppendText(b, name)
		b = AppendBytes(b, q)
		b = AppendMPInt(b, new(big.Int).SetBytes(d))
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 {
			return nil, errors.New("rsa keys of more than two primes are not SSH keys")
		}
		k.Precompute()
		b = AppendMPInt(b, k.N)
		b = AppendMPInt(b, big.NewInt(int64(k.E)))
		b = AppendMPInt(b, k.D)
		b = AppendMPInt(b, k.Precomputed.Qinv)
		b = AppendMPInt(b, k.Primes[0])
		b = AppendMPInt(b, k.Primes[1])
	default:
		return nil, fmt.Errorf("unsupported key type %T", priv)
	}
	return b, nil
}

// ReadPrivateKey reads what AppendPrivateKey appends, checking that the
// public half belongs to the private one.
func ReadPrivateKey(r *Reader) crypto.Signer {
	typ := r.Text()
	if r.Err() != nil {
		return nil
	}
	switch typ {
	case TypeED25519:
		pub, priv := r.Bytes(), r.Bytes()
		if r.Err() != nil {
			return nil
		}
		if len(pub) != ed25519.PublicKeySize || len(priv) != ed25519.PrivateKeySize {
			r.fail("an ed25519 key of %d and %d bytes", len(pub), len(priv))
			return nil
		}
		k := ed25519.NewKeyFromSeed(priv[:ed25519.SeedSize])
		if !bytes.Equal(k[32:], pub) || !bytes.Equal(priv[32:], pub) {
			clear(k)
			r.fail("an ed25519 key whose halves do not match")
			return nil
		}
		return k
	case TypeECDSA256, TypeECDSA384, TypeECDSA521:
		curve, name := curveOf(typ)
		if got := r.Text(); r.Err() == nil && got != name {
			r.fail("curve %q in a %s key", got, typ)
		}
		q := r.Bytes()
		d := r.MPInt()
		if r.Err() != nil {
			return nil
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(d.Bytes()) > size {
			r.fail("an ecdsa scalar longer than its curve")
			return nil
		}
		db := d.FillBytes(make([]byte, size))
		defer clear(db)
		clear(d.Bits())
		k, err := ecdsa.ParseRawPrivateKey(curve, db)
		if err != nil {
			r.fail("%s private key: %v", typ, err)
			return nil
		}
		if got, _ := k.PublicKey.Bytes(); !bytes.Equal(got, q) {
			r.fail("an ecdsa key whose halves do not match")
			return nil
		}
		return k
	case TypeRSA:
		n, e, d, iqmp, p, q := r.MPInt(), r.MPInt(), r.MPInt(), r.MPInt(), r.MPInt(), r.MPInt()
		if r.Err() != nil {
			return nil
		}
		_ = iqmp // recomputed by Precompute, and checked by Validate's use of p and q
		pub := checkRSAPublic(r, e, n)
		if pub == nil {
			return nil
		}
		k := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			r.fail("rsa private key: %v", err)
			return nil
		}
		k.Precompute()
		return k
	}
	r.fail("unsupported key type %q", typ)
	return nil
}

// MarshalPrivateKey is priv as an unencrypted OpenSSH private key file
// ("-----BEGIN OPENSSH PRIVATE KEY-----"), as ssh-keygen writes one with
// no passphrase.
func MarshalPrivateKey(priv crypto.Signer, comment string) ([]byte, error) {
	pub, err := MarshalPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	var check [4]byte
	rand.Read(check[:])
	sec := append(check[:], check[:]...)
	sec, err = AppendPrivateKey(sec, priv)
	if err != nil {
		clear(sec)
		return nil, err
	}
	sec = AppendText(sec, comment)
	for i := byte(1); len(sec)%8 != 0; i++ {
		sec = append(sec, i)
	}
	b := []byte(opensshMagic)
	b = AppendText(b, "none")
	b = AppendText(b, "none")
	b = AppendText(b, "")
	b = AppendUint32(b, 1)
	b = AppendBytes(b, pub)
	b = AppendBytes(b, sec)
	clear(sec)
	out := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: b})
	clear(b)
	return out, nil
}

// ParsePrivateKey parses a private key file: OpenSSH's format, or PEM
// PKCS#1 ("RSA PRIVATE KEY"), SEC1 ("EC PRIVATE KEY") or PKCS#8
// ("PRIVATE KEY"). An encrypted one gives ErrPassphraseNeeded.
func ParsePrivateKey(file []byte) (crypto.Signer, error) {
	return parsePrivateKey(file, nil)
}

// ParsePrivateKeyWithPassphrase parses an encrypted private key file
// (OpenSSH's bcrypt with aes-ctr, aes-cbc or aes-gcm, or PEM's legacy
// Proc-Type encryption); a plain one is parsed as it is.
func ParsePrivateKeyWithPassphrase(file, pass []byte) (crypto.Signer, error) {
	if pass == nil {
		pass = []byte{}
	}
	return parsePrivateKey(file, pass)
}

func parsePrivateKey(file, pass []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(file)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	defer clear(block.Bytes)
	der := block.Bytes
	// Legacy PEM encryption (Proc-Type) is what ssh-keygen -m PEM writes.
	if x509.IsEncryptedPEMBlock(block) {
		if pass == nil {
			return nil, ErrPassphraseNeeded
		}
		var err error
		der, err = x509.DecryptPEMBlock(block, pass)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, ErrWrongPassphrase
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		defer clear(der)
	}
	var k any
	var err error
	switch block.Type {
	case "OPENSSH PRIVATE KEY":
		return parseOpenSSH(der, pass)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(der)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("%w: PEM type %q is not a private key kr reads", ErrMalformed, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, block.Type, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	if _, err := KeyType(s.Public()); err != nil {
		return nil, err
	}
	return s, nil
}

// sshCipher is a cipher OpenSSH encrypts key files with.
type sshCipher struct {
	keyLen, ivLen, tagLen int
	open                  func(key, iv, sealed []byte) ([]byte, error)
}

var sshCiphers = map[string]sshCipher{
	"aes128-ctr":             {16, 16, 0, openCTR},
	"aes192-ctr":             {24, 16, 0, openCTR},
	"aes256-ctr":             {32, 16, 0, openCTR},
	"aes128-cbc":             {16, 16, 0, openCBC},
	"aes256-cbc":             {32, 16, 0, openCBC},
	"aes128-gcm@openssh.com": {16, 12, 16, openGCM},
	"aes256-gcm@openssh.com": {32, 12, 16, openGCM},
}

func openCTR(key, iv, sealed []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(sealed))
	cipher.NewCTR(b, iv).XORKeyStream(out, sealed)
	return out, nil
}

func openCBC(key, iv, sealed []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(sealed))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, sealed)
	return out, nil
}

func openGCM(key, iv, sealed []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	out, err := g.Open(nil, iv, sealed, nil)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	return out, nil
}

// parseOpenSSH parses an openssh-key-v1 key (PROTOCOL.key in OpenSSH):
// its header, one public key, and the private section, encrypted or not,
// whose two check words match only when it was opened with the right key.
func parseOpenSSH(b, pass []byte) (crypto.Signer, error) {
	if !bytes.HasPrefix(b, []byte(opensshMagic)) {
		return nil, fmt.Errorf("%w: not an openssh-key-v1 key", ErrMalformed)
	}
	r := NewReader(b[len(opensshMagic):])
	cipherName, kdfName, kdfOpts := r.Text(), r.Text(), r.Bytes()
	n := r.Uint32()
	pubBlob := r.Bytes()
	sealed := r.Bytes()
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("openssh key: %w", err)
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: openssh key file holds %d keys, not one", ErrMalformed, n)
	}
	if _, err := ParsePublicKey(pubBlob); err != nil {
		return nil, err
	}
	var sec []byte
	blockSize := 8
	if cipherName == "none" {
		if kdfName != "none" || len(kdfOpts) != 0 {
			return nil, fmt.Errorf("%w: openssh key: kdf %q with no cipher", ErrMalformed, kdfName)
		}
		if err := r.Done(); err != nil {
			return nil, fmt.Errorf("openssh key: %w", err)
		}
		sec = append([]byte(nil), sealed...)
	} else {
		c, ok := sshCiphers[cipherName]
		if !ok {
			return nil, fmt.Errorf("%w: openssh key: unsupported cipher %q", ErrMalformed, cipherName)
		}
		if kdfName != "bcrypt" {
			return nil, fmt.Errorf("%w: openssh key: unsupported kdf %q", ErrMalformed, kdfName)
		}
		kr := NewReader(kdfOpts)
		salt := kr.Bytes()
		rounds := kr.Uint32()
		if err := kr.Done(); err != nil {
			return nil, fmt.Errorf("openssh key: kdf options: %w", err)
		}
		if rounds < 1 || rounds > maxKDFRounds || len(salt) == 0 || len(salt) > 1024 {
			return nil, fmt.Errorf("%w: openssh key: kdf of %d rounds and a %d-byte salt", ErrMalformed, rounds, len(salt))
		}
		tag := r.Fixed(c.tagLen)
		if err := r.Done(); err != nil {
			return nil, fmt.Errorf("openssh key: %w", err)
		}
		blockSize = aes.BlockSize
		if len(sealed)%blockSize != 0 {
			return nil, fmt.Errorf("%w: openssh key: encrypted section of %d bytes", ErrMalformed, len(sealed))
		}
		if pass == nil {
			return nil, ErrPassphraseNeeded
		}
		km := bcryptPBKDF(pass, salt, int(rounds), c.keyLen+c.ivLen)
		defer clear(km)
		var err error
		sec, err = c.open(km[:c.keyLen], km[c.keyLen:], append(append([]byte(nil), sealed...), tag...))
		if err != nil {
			return nil, err
		}
	}
	defer clear(sec)
	if len(sec)%blockSize != 0 {
		return nil, fmt.Errorf("%w: openssh key: private section of %d bytes", ErrMalformed, len(sec))
	}
	pr := NewReader(sec)
	c1, c2 := pr.Uint32(), pr.Uint32()
	if pr.Err() == nil && c1 != c2 {
		if cipherName != "none" {
			return nil, ErrWrongPassphrase
		}
		return nil, fmt.Errorf("%w: openssh key: check words differ", ErrMalformed)
	}
	k := ReadPrivateKey(pr)
	pr.Text() // comment: kr names keys itself
	pad := pr.Rest()
	if err := pr.Err(); err != nil {
		return nil, fmt.Errorf("openssh key: %w", err)
	}
	if len(pad) >= blockSize {
		return nil, fmt.Errorf("%w: openssh key: %d bytes of padding", ErrMalformed, len(pad))
	}
	for i, p := range pad {
		if p != byte(i+1) {
			return nil, fmt.Errorf("%w: openssh key: bad padding", ErrMalformed)
		}
	}
	got, err := MarshalPublicKey(k.Public())
	if err != nil || !bytes.Equal(got, pubBlob) {
		return nil, fmt.Errorf("%w: openssh key: the public key does not match the private one", ErrMalformed)
	}
	return k, nil
}
