package format

import (
	"bytes"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

func FuzzParseSecret(f *testing.F) {
	f.Add([]byte("kr-secret/v1 db/prod\nvalue"))
	f.Add([]byte("kr-secret/v1 \n"))
	f.Add([]byte("kr-secret/v1 a//b\nx"))
	f.Add([]byte("kr-secret/v2 a\nx"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		name, value, err := ParseSecret(plain)
		if err != nil {
			return
		}
		if backends.ValidateName(name) != nil {
			t.Fatalf("accepted invalid name %q", name)
		}
		if !bytes.Equal(SecretPlaintext(name, value), plain) {
			t.Fatalf("parse is not the inverse of build for %q", plain)
		}
	})
}
