// Package awscred builds the answer of an AWS credential_process (the
// shared config's "credential_process = kr aws-credentials PREFIX") from
// secrets kept under one prefix. It checks each value before anything is
// printed, and its errors name the secret, never its content.
package awscred

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kr-keyring/kr/backends"
)

// The secrets under PREFIX/. The first two are required.
const (
	NameAccessKeyID     = "access-key-id"
	NameSecretAccessKey = "secret-access-key"
	NameSessionToken    = "session-token"
	NameExpiration      = "expiration"
)

// Output is the JSON document the AWS SDKs and CLI read from a
// credential_process, Version 1.
type Output struct {
	Version         int
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string `json:",omitempty"`
	Expiration      string `json:",omitempty"`
}

// ErrExpired is wrapped when the stored expiration has passed: an SDK
// given expired credentials would only run the process again.
var ErrExpired = errors.New("the stored credentials have expired")

// Getter reads one secret; a missing one is an error wrapping
// backends.ErrNotFound.
type Getter func(ctx context.Context, name string) ([]byte, error)

// Names returns the secret names for prefix, required ones first.
func Names(prefix string) (keyID, secret, token, expiration string) {
	p := strings.TrimSuffix(prefix, "/") + "/"
	return p + NameAccessKeyID, p + NameSecretAccessKey, p + NameSessionToken, p + NameExpiration
}

// Read collects the credentials under prefix. White space around each
// value (the newline of `echo ... | kr set`) is dropped; a value that still
// holds white space or a control character, or is not UTF-8, is refused,
// as is an expiration that is not an RFC 3339 time or has passed at now.
func Read(ctx context.Context, prefix string, get Getter, now time.Time) (Output, error) {
	keyID, secret, token, expiration := Names(prefix)
	out := Output{Version: 1}
	var err error
	if out.AccessKeyId, err = read(ctx, get, keyID, true); err != nil {
		return Output{}, err
	}
	if out.SecretAccessKey, err = read(ctx, get, secret, true); err != nil {
		return Output{}, err
	}
	if out.SessionToken, err = read(ctx, get, token, false); err != nil {
		return Output{}, err
	}
	exp, err := read(ctx, get, expiration, false)
	if err != nil {
		return Output{}, err
	}
	if exp != "" {
		t, err := time.Parse(time.RFC3339, exp)
		if err != nil {
			return Output{}, fmt.Errorf("%s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", expiration, exp)
		}
		if !t.After(now) {
			return Output{}, fmt.Errorf("%w: %s is %s", ErrExpired, expiration, exp)
		}
		out.Expiration = t.UTC().Format(time.RFC3339)
	}
	return out, nil
}

func read(ctx context.Context, get Getter, name string, required bool) (string, error) {
	v, err := get(ctx, name)
	if errors.Is(err, backends.ErrNotFound) && !required {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer clear(v)
	s := strings.TrimSpace(string(v))
	if s == "" {
		return "", fmt.Errorf("%s is empty", name)
	}
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%s is not UTF-8 text", name)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("%s holds white space or a control character inside", name)
		}
	}
	return s, nil
}

// JSON is the document as printed: one line.
func (o Output) JSON() ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
