// Package gitcred is kr's git credential helper (gitcredentials(7)): it
// reads git's attribute protocol, finds, stores and erases credentials,
// and keeps them where git's own helpers for the same store keep theirs, so
// that a credential either one saved is found by the other: the Secret
// Service items of git-credential-libsecret, the Credential Manager targets
// of Git Credential Manager and git-credential-wincred, the Keychain's
// internet passwords of git-credential-osxkeychain, and, in kr's file
// vault, names under git/ (see Name). For picks the layout for a store.
package gitcred

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxInput bounds what a helper reads from git: git's own requests are a
// few hundred bytes, and a helper must not grow without limit on a stream
// that never ends.
const MaxInput = 64 << 10

// Credential is one request or answer of the protocol. Password and
// OAuthRefreshToken are secrets and stay bytes.
type Credential struct {
	Protocol string
	// Host includes the port ("example.org:8443") when there is one.
	Host string
	// Path is sent by git only with credential.useHttpPath (and for
	// file-like protocols); "" means git did not send one.
	Path     string
	Username string
	Password []byte
	// PasswordExpiry is password_expiry_utc; zero means the password does
	// not expire.
	PasswordExpiry time.Time
	// OAuthRefreshToken is oauth_refresh_token, kept with the password.
	OAuthRefreshToken []byte
}

// Wipe clears the secrets.
func (c *Credential) Wipe() {
	clear(c.Password)
	clear(c.OAuthRefreshToken)
}

// ErrInput wraps every error Parse returns for input git would not send.
var ErrInput = errors.New("invalid credential input")

// Parse reads git's request: key=value lines up to a blank line or the end
// of input, at most MaxInput bytes. Keys kr does not use (wwwauth[],
// capability[], authtype, credential, ephemeral, state[], continue and any
// later ones) are ignored, as git asks of helpers. A url= line replaces
// everything before it, as in git. A line without '=' or with a NUL is
// refused: git never sends one, and a NUL would cut a value short in every
// C client that later reads it.
func Parse(r io.Reader) (*Credential, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxInput+1))
	c := &Credential{}
	read := 0
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the reader's buffer: keep reading it.
			rest, rerr := br.ReadBytes('\n')
			line, err = append(bytes.Clone(line), rest...), rerr
		}
		read += len(line)
		if read > MaxInput {
			c.Wipe()
			return nil, fmt.Errorf("%w: more than %d bytes", ErrInput, MaxInput)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			c.Wipe()
			return nil, fmt.Errorf("read credential input: %w", err)
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) == 0 {
			break // the blank line that ends a request, or the end of input
		}
		if perr := c.set(line); perr != nil {
			c.Wipe()
			return nil, fmt.Errorf("%w: line %d: %v", ErrInput, n, perr)
		}
		if err != nil {
			break // end of input after a last line without newline
		}
	}
	if err := c.checkPort(); err != nil {
		c.Wipe()
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	return c, nil
}

// checkPort refuses a host whose port is not a number from 1 to 65535.
// git never sends one, and a store that keeps the port apart (the Secret
// Service's port attribute, the Keychain's port) would otherwise drop it
// and read or replace the credential of the host without a port.
func (c *Credential) checkPort() error {
	host, port := c.hostPort()
	if host == c.Host {
		return nil // no colon: no port
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("host %q has a port that is not a number from 1 to 65535", c.Host)
	}
	return nil
}

func (c *Credential) set(line []byte) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errors.New("NUL byte")
	}
	key, value, ok := bytes.Cut(line, []byte("="))
	if !ok {
		return errors.New("no '=' in the line")
	}
	switch string(key) {
	case "protocol":
		c.Protocol = string(value)
	case "host":
		c.Host = string(value)
	case "path":
		c.Path = string(value)
	case "username":
		c.Username = string(value)
	case "password":
		clear(c.Password)
		c.Password = bytes.Clone(value)
	case "oauth_refresh_token":
		clear(c.OAuthRefreshToken)
		c.OAuthRefreshToken = bytes.Clone(value)
	case "password_expiry_utc":
		c.PasswordExpiry = parseExpiry(string(value))
	case "url":
		// url= may carry a password (user:pw@host): the value is wiped
		// with the line by the caller's buffer going away, and what
		// FromURL keeps is bytes.
		u, err := FromURL(string(value))
		if err != nil {
			return err
		}
		c.Wipe()
		*c = *u
	}
	return nil
}

// parseExpiry reads password_expiry_utc as git does: a decimal count of
// seconds; anything else (or 0) means no expiry.
func parseExpiry(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}

// FromURL splits a URL the way git's credential_from_url does:
// protocol://[user[:password]@]host[:port][/path], with user, password,
// host and path percent-decoded and the path's leading and trailing
// slashes trimmed.
func FromURL(raw string) (*Credential, error) {
	proto, rest, ok := strings.Cut(raw, "://")
	if !ok || proto == "" {
		return nil, errors.New("url has no protocol://")
	}
	c := &Credential{Protocol: proto}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		slash = len(rest)
	}
	authority, path := rest[:slash], rest[slash:]
	hostPart := authority
	// git takes the first '@' before the first '/': an '@' in a user name
	// is percent-encoded.
	if at := strings.IndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		hostPart = authority[at+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		var err error
		if c.Username, err = url.PathUnescape(user); err != nil {
			return nil, errors.New("url has a malformed user name")
		}
		if hasPass {
			p, err := url.PathUnescape(pass)
			if err != nil {
				return nil, errors.New("url has a malformed password")
			}
			c.Password = []byte(p)
		}
	}
	var err error
	if c.Host, err = url.PathUnescape(hostPart); err != nil {
		return nil, errors.New("url has a malformed host")
	}
	path = strings.Trim(path, "/")
	if path != "" {
		if c.Path, err = url.PathUnescape(path); err != nil {
			return nil, errors.New("url has a malformed path")
		}
		c.Path = strings.TrimRight(c.Path, "/")
	}
	for _, v := range []string{c.Protocol, c.Host, c.Path, c.Username, string(c.Password)} {
		if strings.ContainsAny(v, "\x00\n") {
			c.Wipe()
			return nil, errors.New("url has a newline or NUL")
		}
	}
	return c, nil
}

// Answer is what a helper's get writes back: only attributes that are set,
// never protocol or host (git keeps its own). Values with a newline or NUL
// are never written: git would read the rest as attributes of its own
// choosing. Such a credential is an error.
func (c *Credential) Answer(w io.Writer) error {
	var b bytes.Buffer
	defer func() { clear(b.Bytes()) }()
	items := []struct {
		key   string
		value []byte
	}{
		{"username", []byte(c.Username)},
		{"password", c.Password},
	}
	if !c.PasswordExpiry.IsZero() && c.Password != nil {
		items = append(items, struct {
			key   string
			value []byte
		}{"password_expiry_utc", []byte(strconv.FormatInt(c.PasswordExpiry.Unix(), 10))})
	}
	items = append(items, struct {
		key   string
		value []byte
	}{"oauth_refresh_token", c.OAuthRefreshToken})
	for _, it := range items {
		if it.value == nil || (len(it.value) == 0 && it.key != "password") {
			continue
		}
		if bytes.ContainsAny(it.value, "\x00\n") {
			return fmt.Errorf("the stored %s has a newline or NUL, which the protocol cannot carry", it.key)
		}
		b.WriteString(it.key)
		b.WriteByte('=')
		b.Write(it.value)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// hostPort splits Host into host and port ("" when none).
func (c *Credential) hostPort() (host, port string) {
	i := strings.LastIndexByte(c.Host, ':')
	if i < 0 || strings.Contains(c.Host[i:], "]") { // none, or inside [IPv6]
		return c.Host, ""
	}
	return c.Host[:i], c.Host[i+1:]
}

// URL is protocol://host[/path], the form labels and targets use.
func (c *Credential) URL() string {
	u := c.Protocol + "://" + c.Host
	if c.Path != "" {
		u += "/" + c.Path
	}
	return u
}
