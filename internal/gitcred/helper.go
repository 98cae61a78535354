package gitcred

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// Entry is a stored credential as a store lists it, before its secret is
// read: what a search returns, compared by the helper itself.
type Entry struct {
	Protocol string
	Host     string // with ":port" when the item has one
	Path     string
	Username string
	Modified time.Time // zero when the store does not say
	// ref is the store's handle on the item: an object path, a name, a
	// target.
	ref string
}

// Store is where credentials live. Entries may be more than the matches
// (a Secret Service search matches only the attributes sent): the helper
// compares every field itself.
type Store interface {
	Entries(ctx context.Context, q *Credential) ([]Entry, error)
	// Read returns the credential of e, secrets included; an item deleted
	// since Entries wraps backends.ErrNotFound.
	Read(ctx context.Context, e Entry) (*Credential, error)
	// Save replaces the credential with the same protocol, host, path and
	// user name.
	Save(ctx context.Context, c *Credential) error
	Remove(ctx context.Context, e Entry) error
}

// Helper answers git's get, store and erase on a Store.
type Helper struct {
	Store Store
	Now   func() time.Time
}

// Run reads a request from in and carries out action. An action git may
// add later is ignored (nothing read, nothing written), as git asks of
// helpers.
func (h *Helper) Run(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	switch action {
	case "get", "store", "erase":
	default:
		return nil
	}
	q, err := Parse(in)
	if err != nil {
		return err
	}
	defer q.Wipe()
	return h.Do(ctx, action, q, out)
}

// Do carries out get, store or erase for a parsed request.
func (h *Helper) Do(ctx context.Context, action string, q *Credential, out io.Writer) error {
	switch action {
	case "get":
		c, err := h.Get(ctx, q)
		if err != nil || c == nil {
			return err
		}
		defer c.Wipe()
		return c.Answer(out)
	case "store":
		return h.Save(ctx, q)
	case "erase":
		return h.Erase(ctx, q)
	}
	return nil
}

func (h *Helper) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// complete reports whether q names a place: git always sends a protocol and
// a host (or, for file-like protocols, a path). A request without them
// matches nothing; it is never "everything".
func complete(q *Credential) bool {
	return q.Protocol != "" && (q.Host != "" || q.Path != "")
}

// matches is git's own credential_match: every field q sets must be
// equal; the path only when git sent one. The host includes the port, so
// an item for example.org:8443 never answers example.org.
func matches(q *Credential, e Entry) bool {
	return e.Protocol == q.Protocol && e.Host == q.Host &&
		(q.Path == "" || e.Path == q.Path) &&
		(q.Username == "" || e.Username == q.Username)
}

// candidates returns the entries matching q, best first: without a path
// in q, items without one first; then the newest; then by handle, so the
// choice is stable.
func (h *Helper) candidates(ctx context.Context, q *Credential) ([]Entry, error) {
	all, err := h.Store.Entries(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range all {
		if matches(q, e) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b Entry) int {
		if q.Path == "" && (a.Path == "") != (b.Path == "") {
			if a.Path == "" {
				return -1
			}
			return 1
		}
		if d := b.Modified.Compare(a.Modified); d != 0 {
			return d
		}
		return strings.Compare(a.ref, b.ref)
	})
	return out, nil
}

// Get returns the credential for q, or nil. An expired password is never
// returned: when every match has expired, the first one's user name and
// refresh token are (git drops an expired password the same way and lets
// a helper such as GCM refresh it), or nil without a refresh token.
func (h *Helper) Get(ctx context.Context, q *Credential) (*Credential, error) {
	if !complete(q) {
		return nil, nil
	}
	entries, err := h.candidates(ctx, q)
	if err != nil {
		return nil, err
	}
	var expired *Credential
	now := h.now()
	for _, e := range entries {
		c, err := h.Store.Read(ctx, e)
		if errors.Is(err, backends.ErrNotFound) {
			continue // deleted since the search
		}
		if err != nil {
			return nil, err
		}
		// The store's answer must still be for q: never another host's.
		if !matches(q, Entry{Protocol: c.Protocol, Host: c.Host, Path: c.Path, Username: c.Username}) {
			c.Wipe()
			continue
		}
		if c.PasswordExpiry.IsZero() || !c.PasswordExpiry.Before(now) {
			if expired != nil {
				expired.Wipe()
			}
			return c, nil
		}
		if expired == nil && len(c.OAuthRefreshToken) > 0 {
			clear(c.Password)
			c.Password, c.PasswordExpiry = nil, time.Time{}
			expired = c
			continue
		}
		c.Wipe()
	}
	return expired, nil
}

// Save stores c. Like git's own credential-store it skips, without error,
// a credential that is not complete (no protocol, host or path, user name
// or password) or whose password has already expired.
func (h *Helper) Save(ctx context.Context, c *Credential) error {
	if !c.Storable(h.now()) {
		return nil
	}
	return h.Store.Save(ctx, c)
}

// Storable reports whether Save would store c at now.
func (c *Credential) Storable(now time.Time) bool {
	return complete(c) && c.Username != "" && c.Password != nil &&
		(c.PasswordExpiry.IsZero() || !c.PasswordExpiry.Before(now))
}

// Erase removes the credentials matching q. When git sends the password
// it rejected, only items holding that password go: one another process
// stored since (a fresh token) stays.
func (h *Helper) Erase(ctx context.Context, q *Credential) error {
	if !complete(q) {
		return nil
	}
	entries, err := h.candidates(ctx, q)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if q.Password != nil {
			c, err := h.Store.Read(ctx, e)
			if errors.Is(err, backends.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			same := bytes.Equal(c.Password, q.Password)
			c.Wipe()
			if !same {
				continue
			}
		}
		if err := h.Store.Remove(ctx, e); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
	}
	return nil
}

// encodeValue is the secret kr stores where a store keeps one opaque value
// (Secret Service, file vault): the password on the first line, then
// password_expiry_utc= and oauth_refresh_token= lines when set, the layout
// of newer git-credential-libsecret helpers, so a reader that takes the
// first line as the password sees the password.
func encodeValue(c *Credential) []byte {
	v := bytes.Clone(c.Password)
	if !c.PasswordExpiry.IsZero() {
		v = append(v, "\npassword_expiry_utc="+strconv.FormatInt(c.PasswordExpiry.Unix(), 10)...)
	}
	if len(c.OAuthRefreshToken) > 0 {
		v = append(v, "\noauth_refresh_token="...)
		v = append(v, c.OAuthRefreshToken...)
	}
	return v
}

// decodeValue reads encodeValue's layout into c. Lines after the first
// that kr does not know are ignored.
func decodeValue(v []byte, c *Credential) {
	first, rest, _ := bytes.Cut(v, []byte("\n"))
	c.Password = bytes.Clone(first)
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if exp, ok := bytes.CutPrefix(line, []byte("password_expiry_utc=")); ok {
			c.PasswordExpiry = parseExpiry(string(exp))
		} else if tok, ok := bytes.CutPrefix(line, []byte("oauth_refresh_token=")); ok {
			clear(c.OAuthRefreshToken)
			c.OAuthRefreshToken = bytes.Clone(tok)
		}
	}
}

// storeError names the credential an operation failed on, never its
// secret.
func storeError(op string, c *Credential, err error) error {
	return fmt.Errorf("%s git credential for %s: %w", op, c.URL(), err)
}
