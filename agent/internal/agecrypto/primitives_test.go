package agecrypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/crypto/scrypt"
)

// TestX25519MatchesECDH checks the ladder against crypto/ecdh.
func TestX25519MatchesECDH(t *testing.T) {
	for range 200 {
		a, _ := ecdh.X25519().GenerateKey(rand.Reader)
		b, _ := ecdh.X25519().GenerateKey(rand.Reader)
		want, _ := a.ECDH(b.PublicKey())
		got, err := x25519(a.Bytes(), b.PublicKey().Bytes())
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("x25519 = %x, %v; want %x", got, err, want)
		}
		pub, _ := x25519(a.Bytes(), basepoint)
		if !bytes.Equal(pub, a.PublicKey().Bytes()) {
			t.Fatalf("public key %x, want %x", pub, a.PublicKey().Bytes())
		}
	}
	if _, err := x25519(make([]byte, 32), make([]byte, 32)); err == nil {
		t.Fatal("the zero point was accepted")
	}
}

// TestScryptMatches checks scryptKey against x/crypto/scrypt.
func TestScryptMatches(t *testing.T) {
	for _, logN := range []int{1, 4, 10} {
		pass, salt := []byte("passphrase"), []byte("age-encryption.org/v1/scryptSALTSALTSALTSALT")
		want, _ := scrypt.Key(pass, salt, 1<<logN, 8, 1, 32)
		got, err := scryptKey(pass, salt, 1<<logN, 8, 32)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("logN %d: %x, want %x", logN, got, want)
		}
	}
}

func TestBech32RoundTrip(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	scalar, err := ParseIdentity([]byte("# c\n" + id.String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := Recipient(scalar)
	if err != nil || r != id.Recipient().String() {
		t.Fatalf("recipient %q, want %q (%v)", r, id.Recipient(), err)
	}
	for _, bad := range []string{"", "# only a comment\n", "AGE-SECRET-KEY-1QQQQ\n", strings.ToLower(id.String()[:20]) + id.String()[20:]} {
		if _, err := ParseIdentity([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}
