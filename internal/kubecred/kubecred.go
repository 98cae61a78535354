// Package kubecred answers as a kubectl (client-go) exec credential
// plugin: it reads the request kubectl passes in KUBERNETES_EXEC_INFO and
// builds the ExecCredential that carries a bearer token or a client
// certificate and key. Values are checked before anything is printed, and
// errors name the secret, never its content.
package kubecred

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The API versions of ExecCredential kr speaks. v1alpha1 is gone from
// client-go since 1.24.
const (
	V1      = "client.authentication.k8s.io/v1"
	V1beta1 = "client.authentication.k8s.io/v1beta1"
)

// MaxExecInfo bounds KUBERNETES_EXEC_INFO, which may carry the cluster's
// CA bundle when the kubeconfig asks for provideClusterInfo.
const MaxExecInfo = 1 << 20

// ExecInfo is what kr uses of kubectl's request.
type ExecInfo struct {
	APIVersion string
	// Interactive is true only when kubectl says the plugin may use the
	// terminal: its interactiveMode allows it and stdin is one.
	Interactive bool
}

// ErrBadExecInfo is wrapped when KUBERNETES_EXEC_INFO is not a request kr
// can answer.
var ErrBadExecInfo = errors.New("bad KUBERNETES_EXEC_INFO")

// ParseExecInfo reads KUBERNETES_EXEC_INFO. Empty (run by hand, or by an
// old client) means v1 and not interactive.
func ParseExecInfo(s string) (ExecInfo, error) {
	if strings.TrimSpace(s) == "" {
		return ExecInfo{APIVersion: V1}, nil
	}
	if len(s) > MaxExecInfo {
		return ExecInfo{}, fmt.Errorf("%w: longer than %d bytes", ErrBadExecInfo, MaxExecInfo)
	}
	var req struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Spec       struct {
			Interactive bool `json:"interactive"`
		} `json:"spec"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	if err := dec.Decode(&req); err != nil {
		return ExecInfo{}, fmt.Errorf("%w: %v", ErrBadExecInfo, err)
	}
	if dec.More() {
		return ExecInfo{}, fmt.Errorf("%w: data after the object", ErrBadExecInfo)
	}
	if req.Kind != "ExecCredential" {
		return ExecInfo{}, fmt.Errorf("%w: kind %q, want ExecCredential", ErrBadExecInfo, req.Kind)
	}
	switch req.APIVersion {
	case V1, V1beta1:
	default:
		return ExecInfo{}, fmt.Errorf("%w: apiVersion %q (kr speaks %s and %s)", ErrBadExecInfo, req.APIVersion, V1, V1beta1)
	}
	return ExecInfo{APIVersion: req.APIVersion, Interactive: req.Spec.Interactive}, nil
}

// Credential is what the plugin hands kubectl: a bearer token, or a client
// certificate and its key (PEM), or both.
type Credential struct {
	Token       []byte
	Certificate []byte
	Key         []byte
	// Names of the secrets, for errors.
	TokenName, CertificateName, KeyName string
}

// ExecCredential returns the document for apiVersion, one line. The token
// is trimmed of surrounding white space and must be one printable word;
// the certificate and key must be PEM that belong together.
func (c Credential) ExecCredential(apiVersion string) ([]byte, error) {
	type status struct {
		Token                 string `json:"token,omitempty"`
		ClientCertificateData string `json:"clientCertificateData,omitempty"`
		ClientKeyData         string `json:"clientKeyData,omitempty"`
	}
	var st status
	if c.Token != nil {
		tok := string(bytes.TrimSpace(c.Token))
		if tok == "" {
			return nil, fmt.Errorf("%s is empty", c.TokenName)
		}
		if !utf8.ValidString(tok) || strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return nil, fmt.Errorf("%s is not a bearer token: it holds white space, a control character or bytes that are not UTF-8", c.TokenName)
		}
		st.Token = tok
	}
	if (c.Certificate == nil) != (c.Key == nil) {
		return nil, errors.New("a client certificate needs its key, and a key its certificate")
	}
	if c.Certificate != nil {
		if _, err := tls.X509KeyPair(c.Certificate, c.Key); err != nil {
			// crypto/tls's message names the fault, never the key's bytes.
			return nil, fmt.Errorf("%s and %s are not a PEM certificate and its key: %v", c.CertificateName, c.KeyName, err)
		}
		if !utf8.Valid(c.Certificate) || !utf8.Valid(c.Key) {
			return nil, fmt.Errorf("%s or %s holds bytes outside PEM", c.CertificateName, c.KeyName)
		}
		st.ClientCertificateData, st.ClientKeyData = string(c.Certificate), string(c.Key)
	}
	if st.Token == "" && st.ClientCertificateData == "" {
		return nil, errors.New("nothing to hand over: give a token or a client certificate and key")
	}
	doc := struct {
		Kind       string   `json:"kind"`
		APIVersion string   `json:"apiVersion"`
		Spec       struct{} `json:"spec"`
		Status     status   `json:"status"`
	}{Kind: "ExecCredential", APIVersion: apiVersion, Status: st}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
