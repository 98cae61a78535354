package cli_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

const (
	awsKeyID  = "AKIAKRTESTEXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYkrTEST"
	awsToken  = "FwoGZXIvYXdzEKr//session+token=="
)

// stsStub answers GetCallerIdentity like AWS STS when the request is
// signed (SigV4) with awsKeyID and awsSecret and carries awsToken, which
// proves the CLI used every part of what kr printed.
type stsStub struct {
	mu       sync.Mutex
	accepted int
	refused  []string
}

func (s *stsStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := checkSigV4(r, body, awsKeyID, awsSecret); err != nil || r.Header.Get("X-Amz-Security-Token") != awsToken {
		s.mu.Lock()
		s.refused = append(s.refused, fmt.Sprintf("%v (token %q)", err, r.Header.Get("X-Amz-Security-Token")))
		s.mu.Unlock()
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>refused by the test stub</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
		return
	}
	s.mu.Lock()
	s.accepted++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/kr-test</Arn>
    <UserId>AIDAKRTEST</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`)
}

// checkSigV4 verifies an AWS Signature Version 4 Authorization header.
func checkSigV4(r *http.Request, body []byte, keyID, secret string) error {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return fmt.Errorf("no SigV4 Authorization header")
	}
	fields := map[string]string{}
	for _, f := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.SplitN(fields["Credential"], "/", 2)
	if len(scope) != 2 || scope[0] != keyID {
		return fmt.Errorf("signed with access key %q", scope[0])
	}
	parts := strings.Split(scope[1], "/") // date/region/service/aws4_request
	if len(parts) != 4 {
		return fmt.Errorf("bad scope %q", scope[1])
	}
	var canon strings.Builder
	signed := strings.Split(fields["SignedHeaders"], ";")
	for _, h := range signed {
		v := strings.Join(r.Header.Values(h), ",")
		if h == "host" {
			v = r.Host
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	q := r.URL.Query()
	var qs []string
	for k, vs := range q {
		for _, v := range vs {
			qs = append(qs, k+"="+v)
		}
	}
	sort.Strings(qs)
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	bodyHash := sha256.Sum256(body)
	req := strings.Join([]string{r.Method, path, strings.Join(qs, "&"), canon.String(), fields["SignedHeaders"], hex.EncodeToString(bodyHash[:])}, "\n")
	reqHash := sha256.Sum256([]byte(req))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope[1] + "\n" + hex.EncodeToString(reqHash[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), parts[0])
	for _, p := range parts[1:] {
		k = mac(k, p)
	}
	if want := hex.EncodeToString(mac(k, toSign)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return fmt.Errorf("signature does not match the secret key")
	}
	return nil
}

// TestAWSCLICredentialProcess: the aws CLI runs kr as the profile's
// credential_process; `aws configure list` shows the key from
// custom-process and `aws sts get-caller-identity` reaches a local STS
// stub signed with the stored key, secret key and session token.
func TestAWSCLICredentialProcess(t *testing.T) {
	aws := testenv.Tool(t, "aws", "awscli")
	bin := helperBin(t, "kr")
	env := fileVaultEnv(t)
	dir := t.TempDir()
	environ := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_REGION=us-east-1"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") || k == "PATH" || k == "HOME" {
			continue
		}
		environ = append(environ, kv)
	}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	run := func(stdin string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for name, v := range map[string]string{
		"aws/test/access-key-id":     awsKeyID + "\n",
		"aws/test/secret-access-key": awsSecret,
		"aws/test/session-token":     awsToken,
		"aws/test/expiration":        time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	} {
		if out, err := run(v, filepath.Join(bin, "kr"), "set", name); err != nil {
			t.Fatalf("kr set %s: %v\n%s", name, err, out)
		}
	}
	config := "[profile p]\ncredential_process = kr aws-credentials aws/test\nregion = us-east-1\n"
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := run("", aws, "configure", "list", "--profile", "p")
	if err != nil {
		t.Fatalf("aws configure list: %v\n%s", err, out)
	}
	if !strings.Contains(out, awsKeyID[len(awsKeyID)-4:]) || !strings.Contains(out, "custom-process") {
		t.Fatalf("aws configure list does not show the key from custom-process:\n%s", out)
	}

	stub := &stsStub{}
	srv := httptest.NewUnstartedServer(stub)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	out, err = run("", aws, "sts", "get-caller-identity", "--profile", "p", "--endpoint-url", srv.URL, "--output", "json")
	if err != nil || !strings.Contains(out, `"Account": "123456789012"`) || stub.accepted != 1 {
		t.Fatalf("aws sts get-caller-identity: %v\n%s\nstub refused: %q", err, out, stub.refused)
	}
}
