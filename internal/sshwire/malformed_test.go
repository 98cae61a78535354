package sshwire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

// opensshBody is an openssh-key-v1 file's bytes before PEM, built from its
// parts so that each can be spoiled on its own.
type opensshBody struct {
	magic, cipher, kdf string
	kdfOpts            []byte
	n                  uint32
	pub, sec, tail     []byte
}

func (o opensshBody) bytes() []byte {
	b := []byte(o.magic)
	b = AppendText(b, o.cipher)
	b = AppendText(b, o.kdf)
	b = AppendBytes(b, o.kdfOpts)
	b = AppendUint32(b, o.n)
	b = AppendBytes(b, o.pub)
	b = AppendBytes(b, o.sec)
	return append(b, o.tail...)
}

func (o opensshBody) file() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: o.bytes()})
}

// section is a private section: check words, the key, a comment, padding.
func section(c1, c2 uint32, key []byte, pad []byte) []byte {
	s := AppendUint32(AppendUint32(nil, c1), c2)
	s = append(s, key...)
	s = AppendText(s, "comment")
	return append(s, pad...)
}

func padded(s []byte) []byte {
	for i := byte(1); len(s)%8 != 0; i++ {
		s = append(s, i)
	}
	return s
}

func TestMalformedPrivateKeys(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := MarshalPublicKey(priv.Public())
	otherPub, _ := MarshalPublicKey(other.Public())
	fields, _ := AppendPrivateKey(nil, priv)
	good := opensshBody{magic: opensshMagic, cipher: "none", kdf: "none", n: 1, pub: pub,
		sec: padded(section(7, 7, fields, nil))}
	if _, err := ParsePrivateKey(good.file()); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	spoil := func(f func(*opensshBody)) []byte { o := good; f(&o); return o.file() }
	bcryptOpts := AppendUint32(AppendBytes(nil, []byte("saltsaltsaltsalt")), 16)
	cases := []struct {
		name, want string
		file       []byte
	}{
		{"not PEM", "no PEM block", []byte("hello\n")},
		{"other PEM", `PEM type "CERTIFICATE"`, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})},
		{"bad PKCS8", "PRIVATE KEY", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2}})},
		{"magic", "not an openssh-key-v1 key", spoil(func(o *opensshBody) { o.magic = "openssh-key-v2\x00" })},
		{"two keys", "holds 2 keys", spoil(func(o *opensshBody) { o.n = 2 })},
		{"cipher", `unsupported cipher "3des-cbc"`, spoil(func(o *opensshBody) { o.cipher = "3des-cbc"; o.kdf = "bcrypt"; o.kdfOpts = bcryptOpts })},
		{"kdf", `unsupported kdf "scrypt"`, spoil(func(o *opensshBody) { o.cipher = "aes256-ctr"; o.kdf = "scrypt" })},
		{"kdf without cipher", `kdf "bcrypt" with no cipher`, spoil(func(o *opensshBody) { o.kdf = "bcrypt" })},
		{"rounds", "kdf of 100000 rounds", spoil(func(o *opensshBody) {
			o.cipher, o.kdf, o.kdfOpts = "aes256-ctr", "bcrypt", AppendUint32(AppendBytes(nil, []byte("salt")), 100000)
		})},
		{"kdf options", "kdf options", spoil(func(o *opensshBody) { o.cipher, o.kdf, o.kdfOpts = "aes256-ctr", "bcrypt", []byte{0, 0} })},
		{"encrypted length", "encrypted section of 8 bytes", spoil(func(o *opensshBody) {
			o.cipher, o.kdf, o.kdfOpts, o.sec = "aes256-ctr", "bcrypt", bcryptOpts, make([]byte, 8)
		})},
		{"public key", "unsupported key type", spoil(func(o *opensshBody) { o.pub = AppendText(nil, "ssh-dss") })},
		{"trailing", "bytes after the end", spoil(func(o *opensshBody) { o.tail = []byte{0} })},
		{"check words", "check words differ", spoil(func(o *opensshBody) { o.sec = padded(section(1, 2, fields, nil)) })},
		{"section length", "private section of 13 bytes", spoil(func(o *opensshBody) { o.sec = o.sec[:13] })},
		{"padding", "bad padding", spoil(func(o *opensshBody) {
			s := section(7, 7, fields, nil)
			for len(s)%8 != 0 {
				s = append(s, 9)
			}
			o.sec = s
		})},
		{"long padding", "bytes of padding", spoil(func(o *opensshBody) {
			s := section(7, 7, fields, nil)
			for i, n := byte(1), 0; n < 8 || len(s)%8 != 0; i, n = i+1, n+1 {
				s = append(s, i)
			}
			o.sec = s
		})},
		{"mismatched halves", "public key does not match", spoil(func(o *opensshBody) { o.pub = otherPub })},
		{"ed25519 halves", "halves do not match", spoil(func(o *opensshBody) {
			f := AppendText(nil, TypeED25519)
			f = AppendBytes(f, other.Public().(ed25519.PublicKey))
			f = AppendBytes(f, priv)
			o.sec = padded(section(7, 7, f, nil))
		})},
		{"key type", `unsupported key type "ssh-dss"`, spoil(func(o *opensshBody) {
			o.sec = padded(section(7, 7, AppendText(nil, "ssh-dss"), nil))
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePrivateKey(c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
		})
	}
	// Every truncation of a good file is an error, never a panic or a key.
	body := good.bytes()
	for i := range len(body) {
		f := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: body[:i]})
		if _, err := ParsePrivateKey(f); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
}

func TestMalformedPublicKeysAndSignatures(t *testing.T) {
	k := testKeys(t)
	for _, tk := range k {
		blob, _ := MarshalPublicKey(tk.priv.Public())
		for i := range len(blob) {
			if _, err := ParsePublicKey(blob[:i]); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s truncated to %d: %v", tk.name, i, err)
			}
		}
		if _, err := ParsePublicKey(append(blob, 0)); err == nil || !strings.Contains(err.Error(), "1 bytes after the end") {
			t.Fatalf("%s with a trailing byte: %v", tk.name, err)
		}
		sig, _ := Sign(rand.Reader, tk.priv, tk.algs[0], []byte("d"))
		for i := range len(sig) {
			if err := Verify(tk.priv.Public(), []byte("d"), sig[:i]); err == nil {
				t.Fatalf("%s: a signature truncated to %d verified", tk.name, i)
			}
		}
	}
	cases := []struct {
		name, want string
		blob       []byte
	}{
		{"string past the end", "a string of 100 bytes where 0 are left", AppendUint32(nil, 100)},
		{"ed25519 size", "an ed25519 public key of 3 bytes", AppendBytes(AppendText(nil, TypeED25519), []byte{1, 2, 3})},
		{"curve", `curve "nistp384" in a ecdsa-sha2-nistp256 key`, AppendBytes(AppendText(AppendText(nil, TypeECDSA256), "nistp384"), []byte{4})},
		{"point", "ecdsa-sha2-nistp256 point", AppendBytes(AppendText(AppendText(nil, TypeECDSA256), "nistp256"), bytes.Repeat([]byte{4}, 65))},
		{"negative", "a negative mpint", AppendBytes(AppendText(nil, TypeRSA), []byte{0x80})},
		{"even exponent", "rsa exponent", append(AppendBytes(AppendText(nil, TypeRSA), []byte{4}), AppendBytes(nil, bytes.Repeat([]byte{0x7f}, 128))...)},
		{"huge mpint", "an mpint of 3000 bytes", AppendBytes(AppendText(nil, TypeRSA), make([]byte, 3000))},
	}
	for _, c := range cases {
		if _, err := ParsePublicKey(c.blob); err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
