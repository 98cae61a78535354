package sshwire

import (
	"bytes"
	"crypto/rand"
	"encoding/pem"
	"testing"

	"golang.org/x/crypto/ssh"
)

func FuzzParsePublicKey(f *testing.F) {
	for _, k := range testKeys(f) {
		b, _ := MarshalPublicKey(k.priv.Public())
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		again, err := MarshalPublicKey(k)
		if err != nil {
			t.Fatalf("a parsed key does not marshal: %v", err)
		}
		if _, err := ssh.ParsePublicKey(again); err != nil {
			t.Fatalf("x/crypto rejects a key we accepted: %v", err)
		}
		if k2, err := ParsePublicKey(again); err != nil || !bytes.Equal(mustMarshal(t, k2), again) {
			t.Fatalf("round trip: %v", err)
		}
		ParseHostKey(b)
	})
}

func mustMarshal(t *testing.T, k any) []byte {
	b, err := MarshalPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzVerify(f *testing.F) {
	for _, k := range testKeys(f) {
		pub, _ := MarshalPublicKey(k.priv.Public())
		sig, _ := Sign(rand.Reader, k.priv, k.algs[len(k.algs)-1], []byte("data"))
		f.Add(pub, sig)
	}
	f.Fuzz(func(t *testing.T, pub, sig []byte) {
		ParseSignature(sig)
		k, err := ParseHostKey(pub)
		if err != nil {
			return
		}
		Verify(k, []byte("data"), sig)
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	for _, k := range testKeys(f) {
		file, _ := MarshalPrivateKey(k.priv, "c")
		blk, _ := pem.Decode(file)
		f.Add(blk.Bytes)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// Without a passphrase an encrypted file stops before the costly
		// kdf, so the fuzzer explores the plain parser and the header.
		k, err := parseOpenSSH(body, nil)
		if err != nil {
			return
		}
		file, err := MarshalPrivateKey(k, "c")
		if err != nil {
			t.Fatalf("a parsed key does not marshal: %v", err)
		}
		if _, err := ssh.ParseRawPrivateKey(file); err != nil {
			t.Fatalf("x/crypto rejects the file of a key we accepted: %v", err)
		}
	})
}

func FuzzReadPrivateKey(f *testing.F) {
	for _, k := range testKeys(f) {
		b, _ := AppendPrivateKey(nil, k.priv)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		k := ReadPrivateKey(r)
		if r.Err() != nil {
			return
		}
		again, err := AppendPrivateKey(nil, k)
		if err != nil {
			t.Fatalf("a read key does not append: %v", err)
		}
		if k2 := ReadPrivateKey(NewReader(again)); k2 == nil {
			t.Fatal("round trip failed")
		}
	})
}
