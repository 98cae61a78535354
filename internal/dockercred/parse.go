package dockercred

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// Limits on what a client may send. A store request carries the secret,
// which for an identity token is a JWT of a few KiB; a server URL is an
// address.
const (
	MaxRequest   = 256 << 10
	MaxServerURL = 2048
)

// ReadStore reads a store request: one JSON object with the keys ServerURL,
// Username and Secret, spelt so (no other key, none twice, none in another
// case), within MaxRequest bytes, with no NUL anywhere (docker's C helpers
// would cut the value there) and only UTF-8 text (encoding/json would
// silently replace other bytes, storing a secret other than the one sent).
// Like docker's helpers it requires a server URL and a username; the
// secret may be empty.
func ReadStore(r io.Reader) (Credentials, error) {
	data, err := readLimited(r, MaxRequest, "store request")
	if err != nil {
		return Credentials{}, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return Credentials{}, fmt.Errorf("%w: empty store request", ErrBadRequest)
	}
	if !utf8.Valid(data) {
		return Credentials{}, fmt.Errorf("%w: store request is not UTF-8 text", ErrBadRequest)
	}
	var c struct {
		ServerURL *string
		Username  *string
		Secret    *string
	}
	if err := strictjson.Unmarshal(data, &c); err != nil {
		return Credentials{}, fmt.Errorf("%w: store request: %v", ErrBadRequest, err)
	}
	out := Credentials{ServerURL: deref(c.ServerURL), Username: deref(c.Username), Secret: deref(c.Secret)}
	if out.ServerURL == "" {
		return Credentials{}, ErrMissingServerURL
	}
	if err := checkServerURL(out.ServerURL); err != nil {
		return Credentials{}, err
	}
	if out.Username == "" {
		return Credentials{}, ErrMissingUsername
	}
	for _, f := range []struct{ name, v string }{{"Username", out.Username}, {"Secret", out.Secret}} {
		// \u0000 and invalid \ud800 escapes decode to these.
		if strings.ContainsRune(f.v, 0) || strings.ContainsRune(f.v, utf8.RuneError) {
			return Credentials{}, fmt.Errorf("%w: %s holds a NUL or an invalid character", ErrBadRequest, f.name)
		}
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// ReadServerURL reads the request of get and erase: the server URL, with
// surrounding white space dropped as docker's helpers do. A URL holding a
// control character or a line break inside is refused (docker's helpers
// join lines; kr does not guess).
func ReadServerURL(r io.Reader) (string, error) {
	data, err := readLimited(r, MaxServerURL+64, "server URL")
	if err != nil {
		return "", err
	}
	url := strings.TrimSpace(string(data))
	if url == "" {
		return "", ErrMissingServerURL
	}
	if err := checkServerURL(url); err != nil {
		return "", err
	}
	return url, nil
}

// checkServerURL refuses what no registry address holds.
func checkServerURL(url string) error {
	if len(url) > MaxServerURL {
		return fmt.Errorf("%w: server URL is longer than %d bytes", ErrBadRequest, MaxServerURL)
	}
	if !utf8.ValidString(url) {
		return fmt.Errorf("%w: server URL is not UTF-8 text", ErrBadRequest)
	}
	for _, r := range url {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == ' ' {
			return fmt.Errorf("%w: server URL %q holds a space or control character", ErrBadRequest, url)
		}
	}
	return nil
}

func readLimited(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := limitio.Read(r, what, limit)
	if errors.Is(err, limitio.ErrTooLarge) {
		return nil, fmt.Errorf("%w: %s is longer than %d bytes", ErrBadRequest, what, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read the %s: %w", what, err)
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, fmt.Errorf("%w: %s holds a NUL byte", ErrBadRequest, what)
	}
	return data, nil
}
