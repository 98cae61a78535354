package sshwire

// golang.org/x/crypto/ssh is the independent implementation these tests
// check the encoders and decoders against, in both directions; ssh-keygen
// is the other, for files OpenSSH writes.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/kr-keyring/kr/internal/testenv"
)

type testKey struct {
	name string
	priv crypto.Signer
	algs []string
}

var (
	keysOnce sync.Once
	keys     []testKey
)

// testKeys is one key of every type and size kr makes.
func testKeys(t testing.TB) []testKey {
	keysOnce.Do(func() {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		keys = append(keys, testKey{"ed25519", ed, []string{TypeED25519}})
		for _, c := range []struct {
			curve elliptic.Curve
			typ   string
		}{{elliptic.P256(), TypeECDSA256}, {elliptic.P384(), TypeECDSA384}, {elliptic.P521(), TypeECDSA521}} {
			k, _ := ecdsa.GenerateKey(c.curve, rand.Reader)
			keys = append(keys, testKey{c.typ, k, []string{c.typ}})
		}
		r, _ := rsa.GenerateKey(rand.Reader, 2048)
		keys = append(keys, testKey{"rsa", r, []string{TypeRSA, SigRSASHA256, SigRSASHA512}})
	})
	return keys
}

func TestPublicKeysMatchXCrypto(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			blob, err := MarshalPublicKey(k.priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := ssh.NewPublicKey(k.priv.Public())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(blob, theirs.Marshal()) {
				t.Fatalf("blob differs from x/crypto's:\n%x\n%x", blob, theirs.Marshal())
			}
			back, err := ParsePublicKey(theirs.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			if !back.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.priv.Public()) {
				t.Fatal("parsed key differs")
			}
			if got, want := Fingerprint(blob), ssh.FingerprintSHA256(theirs); got != want {
				t.Fatalf("fingerprint %s, want %s", got, want)
			}
			if got, want := AuthorizedKey(blob)+"\n", string(ssh.MarshalAuthorizedKey(theirs)); got != want {
				t.Fatalf("authorized key %q, want %q", got, want)
			}
			if BlobType(blob) != theirs.Type() {
				t.Fatalf("type %s, want %s", BlobType(blob), theirs.Type())
			}
		})
	}
}

func TestSignaturesMatchXCrypto(t *testing.T) {
	data := []byte("signed data")
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			theirPub, _ := ssh.NewPublicKey(k.priv.Public())
			signer, err := ssh.NewSignerFromKey(k.priv)
			if err != nil {
				t.Fatal(err)
			}
			for _, alg := range k.algs {
				// Ours, checked by x/crypto.
				blob, err := Sign(rand.Reader, k.priv, alg, data)
				if err != nil {
					t.Fatal(err)
				}
				var sig ssh.Signature
				if err := ssh.Unmarshal(blob, &sig); err != nil {
					t.Fatal(err)
				}
				if sig.Format != alg {
					t.Fatalf("format %s, want %s", sig.Format, alg)
				}
				if err := theirPub.Verify(data, &sig); err != nil {
					t.Fatalf("%s: x/crypto rejects our signature: %v", alg, err)
				}
				// Theirs, checked by us.
				theirs, err := signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, data, alg)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify(k.priv.Public(), data, ssh.Marshal(theirs)); err != nil {
					t.Fatalf("%s: we reject x/crypto's signature: %v", alg, err)
				}
				if err := Verify(k.priv.Public(), []byte("other data"), ssh.Marshal(theirs)); err == nil {
					t.Fatalf("%s: a signature of other data verified", alg)
				}
				bad := ssh.Marshal(theirs)
				bad[len(bad)-1] ^= 1
				if err := Verify(k.priv.Public(), data, bad); err == nil {
					t.Fatalf("%s: a changed signature verified", alg)
				}
			}
			if _, err := Sign(rand.Reader, k.priv, "ssh-dss", data); err == nil {
				t.Fatal("signed with an algorithm that does not fit the key")
			}
		})
	}
}

func TestHostCertificateKey(t *testing.T) {
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	_, caPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostPub, _ := ssh.NewPublicKey(hostPriv.Public())
	ca, _ := ssh.NewSignerFromKey(caPriv)
	cert := &ssh.Certificate{Key: hostPub, CertType: ssh.HostCert, ValidPrincipals: []string{"h"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	got, err := ParseHostKey(cert.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !hostPriv.Public().(ed25519.PublicKey).Equal(got) {
		t.Fatal("the certificate's key is not the host key")
	}
	if _, err := ParsePublicKey(cert.Marshal()); err == nil {
		t.Fatal("ParsePublicKey took a certificate")
	}
}

func TestPrivateKeysMatchXCrypto(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			ours, err := MarshalPrivateKey(k.priv, "a comment")
			if err != nil {
				t.Fatal(err)
			}
			theirsParsed, err := ssh.ParseRawPrivateKey(ours)
			if err != nil {
				t.Fatalf("x/crypto cannot read our file: %v", err)
			}
			sameKey(t, k.priv, theirsParsed)
			blk, err := ssh.MarshalPrivateKey(k.priv, "c")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePrivateKey(pem.EncodeToMemory(blk))
			if err != nil {
				t.Fatalf("we cannot read x/crypto's file: %v", err)
			}
			sameKey(t, k.priv, got)
			// PEM forms.
			pk8, _ := x509.MarshalPKCS8PrivateKey(k.priv)
			forms := map[string][]byte{"PRIVATE KEY": pk8}
			switch p := k.priv.(type) {
			case *rsa.PrivateKey:
				forms["RSA PRIVATE KEY"] = x509.MarshalPKCS1PrivateKey(p)
			case *ecdsa.PrivateKey:
				forms["EC PRIVATE KEY"], _ = x509.MarshalECPrivateKey(p)
			}
			for typ, der := range forms {
				got, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
				if err != nil {
					t.Fatalf("%s: %v", typ, err)
				}
				sameKey(t, k.priv, got)
			}
		})
	}
}

func TestEncryptedPrivateKeyFromXCrypto(t *testing.T) {
	k := testKeys(t)[0]
	blk, err := ssh.MarshalPrivateKeyWithPassphrase(k.priv, "c", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	file := pem.EncodeToMemory(blk)
	if _, err := ParsePrivateKey(file); !errors.Is(err, ErrPassphraseNeeded) {
		t.Fatalf("no passphrase: %v", err)
	}
	if _, err := ParsePrivateKeyWithPassphrase(file, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	got, err := ParsePrivateKeyWithPassphrase(file, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, k.priv, got)
}

// TestFilesFromSSHKeygen reads what OpenSSH's own ssh-keygen writes: each
// key type, plain and encrypted under each cipher it offers, and PEM.
func TestFilesFromSSHKeygen(t *testing.T) {
	keygen := testenv.Tool(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		pass string
	}{
		{"ed25519", []string{"-t", "ed25519"}, ""},
		{"ecdsa256", []string{"-t", "ecdsa", "-b", "256"}, ""},
		{"ecdsa384", []string{"-t", "ecdsa", "-b", "384"}, ""},
		{"ecdsa521", []string{"-t", "ecdsa", "-b", "521"}, ""},
		{"rsa", []string{"-t", "rsa", "-b", "2048"}, ""},
		{"ed25519-ctr", []string{"-t", "ed25519", "-a", "2"}, "pw ctr"},
		{"rsa-ctr", []string{"-t", "rsa", "-b", "2048", "-a", "2"}, "pw rsa"},
		{"ecdsa-gcm", []string{"-t", "ecdsa", "-Z", "aes256-gcm@openssh.com", "-a", "2"}, "pw gcm"},
		{"ed25519-aes128ctr", []string{"-t", "ed25519", "-Z", "aes128-ctr", "-a", "2"}, "pw 128"},
		{"rsa-pem", []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}, ""},
		{"rsa-pem-enc", []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}, "pw pem"},
		{"ecdsa-pkcs8", []string{"-t", "ecdsa", "-m", "PKCS8"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := filepath.Join(dir, c.name)
			args := append([]string{"-q", "-f", f, "-N", c.pass, "-C", "from ssh-keygen"}, c.args...)
			if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
			}
			file, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			pubLine, _ := os.ReadFile(f + ".pub")
			var k crypto.Signer
			if c.pass == "" {
				k, err = ParsePrivateKey(file)
			} else {
				if _, err := ParsePrivateKey(file); !errors.Is(err, ErrPassphraseNeeded) {
					t.Fatalf("without the passphrase: %v", err)
				}
				if _, err := ParsePrivateKeyWithPassphrase(file, []byte("not it")); !errors.Is(err, ErrWrongPassphrase) {
					t.Fatalf("with a wrong passphrase: %v", err)
				}
				k, err = ParsePrivateKeyWithPassphrase(file, []byte(c.pass))
			}
			if err != nil {
				t.Fatal(err)
			}
			blob, _ := MarshalPublicKey(k.Public())
			if want := strings.Join(strings.Fields(string(pubLine))[:2], " "); AuthorizedKey(blob) != want {
				t.Fatalf("public key %s, ssh-keygen's %s", AuthorizedKey(blob), want)
			}
		})
	}
	// ssh-keygen reads the file kr writes, and derives the same public key.
	for _, k := range testKeys(t) {
		file, _ := MarshalPrivateKey(k.priv, "kr")
		f := filepath.Join(dir, "kr-"+k.name)
		os.WriteFile(f, file, 0o600)
		out, err := exec.Command(keygen, "-y", "-f", f).CombinedOutput()
		blob, _ := MarshalPublicKey(k.priv.Public())
		if err != nil || strings.TrimSpace(string(out)) != AuthorizedKey(blob)+" kr" {
			t.Fatalf("ssh-keygen -y on kr's %s file: %v\n%s", k.name, err, out)
		}
	}
}

// TestBcryptPBKDFSpread: the files ssh-keygen encrypts (above) are the
// known answers; this checks what they cannot show by themselves.
func TestBcryptPBKDFSpread(t *testing.T) {
	// Every byte of a longer key depends on the passphrase; a key's prefix
	// is not a shorter key (the stride spreads blocks), as in OpenSSH.
	a := bcryptPBKDF([]byte("pass"), []byte("salt"), 2, 48)
	b := bcryptPBKDF([]byte("pass"), []byte("salt"), 2, 32)
	if bytes.Equal(a[:32], b) {
		t.Fatal("a 48-byte key starts with the 32-byte one: no stride")
	}
	if bytes.Equal(a, bcryptPBKDF([]byte("pasS"), []byte("salt"), 2, 48)) {
		t.Fatal("another passphrase gave the same key")
	}
}

func sameKey(t *testing.T, want crypto.Signer, got any) {
	t.Helper()
	if p, ok := got.(*ed25519.PrivateKey); ok {
		got = *p
	}
	e, ok := got.(interface{ Equal(crypto.PrivateKey) bool })
	if !ok || !e.Equal(want) {
		t.Fatalf("got another key (%T)", got)
	}
}

func TestMPIntRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 0x7f, 0x80, 0xff, 0x100, 0x8000} {
		b := AppendMPInt(nil, big.NewInt(n))
		theirs := ssh.Marshal(struct{ N *big.Int }{big.NewInt(n)})
		if !bytes.Equal(b, theirs) {
			t.Fatalf("%d: %x, x/crypto %x", n, b, theirs)
		}
		r := NewReader(b)
		if got := r.MPInt(); r.Done() != nil || got.Int64() != n {
			t.Fatalf("%d read back as %v (%v)", n, got, r.Err())
		}
	}
}
