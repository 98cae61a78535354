package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// testCA makes a CA and one client certificate it signed, in PEM.
func testCA(t *testing.T, cn string) (ca *x509.Certificate, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kr-test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	return ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// TestKubectlExecPlugin: kubectl runs kr as the exec credential plugin of
// its kubeconfig's users and reaches a local HTTPS API server stub, which
// checks the bearer token (ExecCredential v1) or the client certificate
// (v1beta1); a missing secret fails kubectl, with kr's error shown.
func TestKubectlExecPlugin(t *testing.T) {
	kubectl := testenv.Tool(t, "kubectl", "kubectl")
	bin := helperBin(t, "kr")
	env := fileVaultEnv(t)
	ca, certPEM, keyPEM := testCA(t, "kr-cert-user")

	const token = "kr-test.bearer-token_123"
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := ""
		switch {
		case r.Header.Get("Authorization") == "Bearer "+token:
			who = "token"
		case r.TLS != nil && len(r.TLS.VerifiedChains) > 0:
			who = "cert:" + r.TLS.PeerCertificates[0].Subject.CommonName
		default:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		fmt.Fprintf(w, `{"major":"1","minor":"32","gitVersion":"v1.32.0-%s"}`, strings.ReplaceAll(who, ":", "-"))
	}))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.StartTLS()
	defer srv.Close()
	serverCA := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: stub
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: token-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kr
      args: [kube-credential, k8s/token]
      interactiveMode: Never
- name: cert-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kr
      args: [kube-credential, --client-certificate, k8s/client.crt, --client-key, k8s/client.key]
- name: missing-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kr
      args: [kube-credential, k8s/nothing-here]
      interactiveMode: IfAvailable
contexts:
- {name: token, context: {cluster: stub, user: token-user}}
- {name: cert, context: {cluster: stub, user: cert-user}}
- {name: missing, context: {cluster: stub, user: missing-user}}
current-context: token
`, srv.URL, serverCA)
	if err := os.WriteFile(kubeconfig, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	run := func(stdin, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for name, v := range map[string][]byte{"k8s/token": []byte(token + "\n"), "k8s/client.crt": certPEM, "k8s/client.key": keyPEM} {
		if out, err := run(string(v), filepath.Join(bin, "kr"), "set", name); err != nil {
			t.Fatalf("kr set %s: %v\n%s", name, err, out)
		}
	}
	for ctx, want := range map[string]string{"token": "v1.32.0-token", "cert": "v1.32.0-cert-kr-cert-user"} {
		out, err := run("", kubectl, "--context", ctx, "get", "--raw", "/version")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("kubectl --context %s: %v\n%s", ctx, err, out)
		}
	}
	out, err := run("", kubectl, "--context", "missing", "get", "--raw", "/version")
	if err == nil || !strings.Contains(out, "secret not found: k8s/nothing-here") {
		t.Errorf("kubectl with a missing token: %v\n%s", err, out)
	}
}
