package sshwire

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

// Key types and signature algorithms, as OpenSSH names them.
const (
	TypeED25519  = "ssh-ed25519"
	TypeECDSA256 = "ecdsa-sha2-nistp256"
	TypeECDSA384 = "ecdsa-sha2-nistp384"
	TypeECDSA521 = "ecdsa-sha2-nistp521"
	TypeRSA      = "ssh-rsa" // also the signature algorithm rsa with SHA-1
	SigRSASHA256 = "rsa-sha2-256"
	SigRSASHA512 = "rsa-sha2-512"
)

// certSuffix ends the type of an OpenSSH certificate.
const certSuffix = "-cert-v01@openssh.com"

// maxRSABits bounds an rsa modulus kr accepts.
const maxRSABits = 16384

// curves maps an ecdsa key type to its curve, and curveName its name in
// the key blob.
func curveOf(typ string) (elliptic.Curve, string) {
	switch typ {
	case TypeECDSA256:
		return elliptic.P256(), "nistp256"
	case TypeECDSA384:
		return elliptic.P384(), "nistp384"
	case TypeECDSA521:
		return elliptic.P521(), "nistp521"
	}
	return nil, ""
}

// KeyType is the SSH type of a public key: ed25519.PublicKey,
// *ecdsa.PublicKey or *rsa.PublicKey.
func KeyType(pub crypto.PublicKey) (string, error) {
	switch p := pub.(type) {
	case ed25519.PublicKey:
		return TypeED25519, nil
	case *rsa.PublicKey:
		return TypeRSA, nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return TypeECDSA256, nil
		case elliptic.P384():
			return TypeECDSA384, nil
		case elliptic.P521():
			return TypeECDSA521, nil
		}
		return "", fmt.Errorf("ecdsa on curve %s is not an SSH key type", p.Curve.Params().Name)
	}
	return "", fmt.Errorf("unsupported key type %T", pub)
}

// MarshalPublicKey is pub's blob: its type, then its fields.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	typ, err := KeyType(pub)
	if err != nil {
		return nil, err
	}
	b := AppendText(nil, typ)
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, errors.New("ed25519 public key of the wrong size")
		}
		b = AppendBytes(b, p)
	case *rsa.PublicKey:
		b = AppendMPInt(b, big.NewInt(int64(p.E)))
		b = AppendMPInt(b, p.N)
	case *ecdsa.PublicKey:
		q, err := p.Bytes()
		if err != nil {
			return nil, err
		}
		_, name := curveOf(typ)
		b = AppendText(b, name)
		b = AppendBytes(b, q)
	}
	return b, nil
}

// ParsePublicKey parses a key blob, all of it.
func ParsePublicKey(blob []byte) (crypto.PublicKey, error) {
	r := NewReader(blob)
	typ := r.Text()
	pub := readPublicFields(r, typ)
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return pub, nil
}

// ParseHostKey parses a key blob, or an OpenSSH certificate's blob for the
// key it certifies: a host may present either, and checking a signature
// needs only the key.
func ParseHostKey(blob []byte) (crypto.PublicKey, error) {
	r := NewReader(blob)
	typ := r.Text()
	if base, ok := strings.CutSuffix(typ, certSuffix); ok {
		r.Bytes() // nonce
		pub := readPublicFields(r, base)
		r.Rest() // serial, principals, validity, options, signature: not checked here
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("host certificate: %w", err)
		}
		return pub, nil
	}
	pub := readPublicFields(r, typ)
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	return pub, nil
}

// readPublicFields reads the fields of a public key of type typ.
func readPublicFields(r *Reader, typ string) crypto.PublicKey {
	if r.Err() != nil {
		return nil
	}
	switch typ {
	case TypeED25519:
		p := r.Bytes()
		if r.Err() == nil && len(p) != ed25519.PublicKeySize {
			r.fail("an ed25519 public key of %d bytes", len(p))
		}
		if r.Err() != nil {
			return nil
		}
		return ed25519.PublicKey(append([]byte(nil), p...))
	case TypeRSA:
		e := r.MPInt()
		n := r.MPInt()
		if r.Err() != nil {
			return nil
		}
		return checkRSAPublic(r, e, n)
	case TypeECDSA256, TypeECDSA384, TypeECDSA521:
		curve, name := curveOf(typ)
		if got := r.Text(); r.Err() == nil && got != name {
			r.fail("curve %q in a %s key", got, typ)
		}
		q := r.Bytes()
		if r.Err() != nil {
			return nil
		}
		p, err := ecdsa.ParseUncompressedPublicKey(curve, q)
		if err != nil {
			r.fail("%s point: %v", typ, err)
			return nil
		}
		return p
	}
	r.fail("unsupported key type %q", typ)
	return nil
}

func checkRSAPublic(r *Reader, e, n *big.Int) *rsa.PublicKey {
	if n.BitLen() > maxRSABits {
		r.fail("an rsa modulus of %d bits", n.BitLen())
		return nil
	}
	if n.BitLen() < 512 || n.Bit(0) == 0 {
		r.fail("an rsa modulus that is no modulus")
		return nil
	}
	// Real exponents are 65537 or 3; a 24-bit cap is what OpenSSH's other
	// readers accept too, and keeps verification cheap.
	if e.BitLen() > 24 || e.Int64() < 3 || e.Bit(0) == 0 {
		r.fail("an rsa exponent that is not odd and between 3 and 2^24")
		return nil
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}
}

// BlobType is the type a key blob names, without parsing the rest.
func BlobType(blob []byte) string { return NewReader(blob).Text() }

// Fingerprint is OpenSSH's SHA256 fingerprint of a key blob.
func Fingerprint(blob []byte) string {
	h := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(h[:])
}

// AuthorizedKey is the key as a line of authorized_keys, without comment
// or newline: "TYPE BASE64".
func AuthorizedKey(blob []byte) string {
	return BlobType(blob) + " " + base64.StdEncoding.EncodeToString(blob)
}

// hashFor is the hash a signature algorithm signs with (0: none, ed25519).
func hashFor(alg string) (crypto.Hash, error) {
	switch alg {
	case TypeED25519:
		return 0, nil
	case TypeRSA:
		return crypto.SHA1, nil
	case SigRSASHA256, TypeECDSA256:
		return crypto.SHA256, nil
	case TypeECDSA384:
		return crypto.SHA384, nil
	case SigRSASHA512, TypeECDSA521:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported signature algorithm %q", alg)
}

// algorithmFits reports whether a key of type typ signs with alg.
func algorithmFits(typ, alg string) bool {
	if typ == TypeRSA {
		return alg == TypeRSA || alg == SigRSASHA256 || alg == SigRSASHA512
	}
	return typ == alg
}

func digest(h crypto.Hash, data []byte) []byte {
	switch h {
	case crypto.SHA1:
		// SHA-1 is what ssh-rsa signatures are, and what old servers ask
		// for; the client chooses, as with ssh-agent.
		s := sha1.Sum(data)
		return s[:]
	case crypto.SHA256:
		s := sha256.Sum256(data)
		return s[:]
	case crypto.SHA384:
		s := sha512.Sum384(data)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(data)
		return s[:]
	}
	return data
}

// Sign signs data with priv (ed25519.PrivateKey, *ecdsa.PrivateKey or
// *rsa.PrivateKey) under alg, which must fit the key's type, and returns
// the signature blob: the algorithm, then the signature.
func Sign(rand io.Reader, priv crypto.Signer, alg string, data []byte) ([]byte, error) {
	typ, err := KeyType(priv.Public())
	if err != nil {
		return nil, err
	}
	if !algorithmFits(typ, alg) {
		return nil, fmt.Errorf("a %s key does not sign %s", typ, alg)
	}
	h, err := hashFor(alg)
	if err != nil {
		return nil, err
	}
	var sig []byte
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, data)
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand, k, h, digest(h, data))
	case *ecdsa.PrivateKey:
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand, k, digest(h, data))
		if err == nil {
			sig = AppendMPInt(AppendMPInt(nil, r), s)
		}
	default:
		err = fmt.Errorf("unsupported key type %T", priv)
	}
	if err != nil {
		return nil, err
	}
	return AppendBytes(AppendText(nil, alg), sig), nil
}

// ParseSignature splits a signature blob into its algorithm and signature.
func ParseSignature(b []byte) (alg string, sig []byte, err error) {
	r := NewReader(b)
	alg = r.Text()
	sig = r.Bytes()
	if err := r.Done(); err != nil {
		return "", nil, fmt.Errorf("signature: %w", err)
	}
	return alg, sig, nil
}

// Verify checks a signature blob over data by pub.
func Verify(pub crypto.PublicKey, data, sigBlob []byte) error {
	alg, sig, err := ParseSignature(sigBlob)
	if err != nil {
		return err
	}
	typ, err := KeyType(pub)
	if err != nil {
		return err
	}
	if !algorithmFits(typ, alg) {
		return fmt.Errorf("a %s signature from a %s key", alg, typ)
	}
	h, err := hashFor(alg)
	if err != nil {
		return err
	}
	bad := errors.New("signature does not verify")
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(sig) != ed25519.SignatureSize || !ed25519.Verify(k, data, sig) {
			return bad
		}
	case *rsa.PublicKey:
		// OpenSSH pads a signature shorter than the modulus.
		if size := k.Size(); len(sig) < size {
			sig = append(make([]byte, size-len(sig)), sig...)
		}
		if rsa.VerifyPKCS1v15(k, h, digest(h, data), sig) != nil {
			return bad
		}
	case *ecdsa.PublicKey:
		r := NewReader(sig)
		rr, ss := r.MPInt(), r.MPInt()
		if r.Done() != nil || !ecdsa.Verify(k, digest(h, data), rr, ss) {
			return bad
		}
	}
	return nil
}
