package kubecred

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseExecInfo(t *testing.T) {
	good := map[string]ExecInfo{
		"": {APIVersion: V1},
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`:                                      {APIVersion: V1},
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":true,"cluster":{"server":"https://x"}}}`: {APIVersion: V1beta1, Interactive: true},
	}
	for in, want := range good {
		if got, err := ParseExecInfo(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`,
		`{"kind":"Other","apiVersion":"client.authentication.k8s.io/v1"}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"yes"}}`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"} {}`,
		`not json`,
		`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","x":"` + strings.Repeat("a", MaxExecInfo) + `"}`,
	} {
		if _, err := ParseExecInfo(in); !errors.Is(err, ErrBadExecInfo) {
			t.Errorf("%.80s: %v, want refused", in, err)
		}
	}
}

func keyPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kr-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func TestExecCredential(t *testing.T) {
	out, err := Credential{Token: []byte("tok.en-123\n"), TokenName: "k/t"}.ExecCredential(V1)
	if want := `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{},"status":{"token":"tok.en-123"}}` + "\n"; err != nil || string(out) != want {
		t.Fatalf("got %s, %v; want %s", out, err, want)
	}
	cert, key := keyPair(t)
	out, err = Credential{Certificate: cert, Key: key}.ExecCredential(V1beta1)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string
		Status     struct{ ClientCertificateData, ClientKeyData string }
	}
	if err := json.Unmarshal(out, &doc); err != nil || doc.APIVersion != V1beta1 || doc.Status.ClientCertificateData != string(cert) || doc.Status.ClientKeyData != string(key) {
		t.Fatalf("got %s", out)
	}

	_, otherKey := keyPair(t)
	for name, c := range map[string]Credential{
		"empty token":       {Token: []byte(" \n"), TokenName: "k/t"},
		"token with space":  {Token: []byte("a b"), TokenName: "k/t"},
		"token with NUL":    {Token: []byte("a\x00b"), TokenName: "k/t"},
		"nothing":           {},
		"certificate alone": {Certificate: cert},
		"key of another":    {Certificate: cert, Key: otherKey, CertificateName: "k/crt", KeyName: "k/key"},
		"not PEM":           {Certificate: []byte("x"), Key: key, CertificateName: "k/crt", KeyName: "k/key"},
	} {
		out, err := c.ExecCredential(V1)
		if err == nil || out != nil {
			t.Errorf("%s: accepted: %s", name, out)
			continue
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") || strings.Contains(err.Error(), string(otherKey[40:60])) {
			t.Errorf("%s: key material in the error %q", name, err)
		}
	}
}
