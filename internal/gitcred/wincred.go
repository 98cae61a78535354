package gitcred

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// WinCred keeps credentials in Credential Manager as Git Credential Manager
// (GCM) does, and reads git-credential-wincred's too. Both write a generic
// credential whose target is "git:" + URL, the user name in UserName and
// the password as its UTF-16LE blob, persisted on the local machine:
//
//   - GCM: git:https://host[:port][/path], the path percent-encoded; when
//     that target already holds another user's credential,
//     git:https://user@host[:port][/path] with '@' in the user written
//     '_'. A refresh token follows the password as an
//     "oauth_refresh_token=" line of the blob.
//   - git-credential-wincred: git:https://user@host[:port][/path], user
//     and path as git sent them, its comment "saved by
//     git-credential-wincred", the expiry in the attribute
//     git_password_expiry_utc (UTF-16LE decimal).
//
// kr writes GCM's layout and the expiry both as wincred's attribute and as
// a "password_expiry_utc=" line of the blob: GCM keeps no expiry, and where
// Credential Manager drops attributes (wine) the line still stops kr from
// returning an expired password. Readers that take the blob's first line
// as the password (GCM, wincred since it stores refresh tokens) see the
// password.
//
// git-credential-wincred compares the user name inside the target: asked
// with a user name, it does not find GCM's (or kr's) items whose target
// has none.
type WinCred struct {
	api winCredAPI // nil: the system's Credential Manager
}

// MaxWinCredBlob is Credential Manager's limit on a credential's blob, in
// bytes: the password and refresh token are UTF-16, two bytes or four a
// character.
const MaxWinCredBlob = credkit.MaxWinCredBlob

// wincredComment marks git-credential-wincred's credentials, whose paths
// are not percent-encoded.
const wincredComment = "saved by git-credential-wincred"

// winCred is a generic credential as far as git's layouts use it.
type winCred struct {
	Target   string
	UserName string
	Comment  string
	Blob     []byte
	// Expiry is the git_password_expiry_utc attribute, decoded; "" when
	// there is none.
	Expiry   string
	Modified time.Time
}

// winCredAPI is the little of Credential Manager the layout needs, so that
// its logic runs and is tested on every OS.
type winCredAPI interface {
	// list returns the credentials whose target starts with prefix, with
	// no blob.
	list(prefix string) ([]winCred, error)
	// read returns the generic credential target, or errNoCred.
	read(target string) (winCred, error)
	// write creates or replaces the generic credential c.Target.
	write(c winCred) error
	// remove deletes the generic credential target, or returns errNoCred.
	remove(target string) error
}

func (s WinCred) sys() winCredAPI {
	if s.api != nil {
		return s.api
	}
	return systemWinCred()
}

// winTarget is GCM's target for c, with the user name when withUser.
func winTarget(c *Credential, withUser bool) string {
	t := "git:" + c.Protocol + "://"
	if withUser {
		t += strings.ReplaceAll(c.Username, "@", "_") + "@"
	}
	t += c.Host
	if c.Path != "" {
		t += (&url.URL{Path: "/" + c.Path}).EscapedPath()
	}
	return t
}

// parseWinTarget reads a target of either layout; ok is false for one that
// is not git's. The user name is the credential's UserName, not the
// target's, which GCM may have altered.
func parseWinTarget(c winCred) (Entry, bool) {
	rest, ok := strings.CutPrefix(c.Target, "git:")
	if !ok {
		return Entry{}, false
	}
	proto, rest, ok := strings.Cut(rest, "://")
	if !ok || proto == "" {
		return Entry{}, false
	}
	authority, path, _ := strings.Cut(rest, "/")
	// A user name may hold '@' (wincred writes it as is); a host never.
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	path = strings.TrimRight(path, "/")
	if c.Comment != wincredComment {
		if p, err := url.PathUnescape(path); err == nil {
			path = p
		}
	}
	e := Entry{Protocol: proto, Host: authority, Path: path, Username: c.UserName, Modified: c.Modified, ref: c.Target}
	return e, e.Host != "" || e.Path != ""
}

// Entries lists the credentials under git:<protocol>://. A host that
// differs from q's only in case is q's: host names are not case-sensitive,
// and GCM writes them in lower case.
func (s WinCred) Entries(ctx context.Context, q *Credential) ([]Entry, error) {
	all, err := s.sys().list("git:" + q.Protocol + "://")
	if err != nil {
		return nil, fmt.Errorf("find git credentials for %s: %w", q.URL(), err)
	}
	var out []Entry
	for _, c := range all {
		e, ok := parseWinTarget(c)
		if !ok {
			continue
		}
		if asciiEqualFold(e.Host, q.Host) {
			e.Host = q.Host
		}
		out = append(out, e)
	}
	return out, nil
}

// asciiEqualFold is strings.EqualFold for ASCII letters only: Unicode
// folding would make the Kelvin sign a "k", another host.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func (s WinCred) Read(ctx context.Context, e Entry) (*Credential, error) {
	w, err := s.sys().read(e.ref)
	if errors.Is(err, errNoCred) {
		return nil, fmt.Errorf("read git credential: %w", backends.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read git credential: %w", err)
	}
	defer clear(w.Blob)
	v, err := fromUTF16(w.Blob)
	if err != nil {
		return nil, fmt.Errorf("read git credential for %s://%s: %w", e.Protocol, e.Host, err)
	}
	defer clear(v)
	// wincred separates lines with CRLF, GCM with LF.
	if bytes.Contains(v, []byte("\r\n")) {
		v = bytes.ReplaceAll(v, []byte("\r\n"), []byte("\n"))
	}
	c := &Credential{Protocol: e.Protocol, Host: e.Host, Path: e.Path, Username: w.UserName}
	decodeValue(v, c)
	if c.PasswordExpiry.IsZero() && w.Expiry != "" {
		c.PasswordExpiry = parseExpiry(w.Expiry)
	}
	return c, nil
}

// Save writes c as GCM does: to the target without a user name unless that
// one holds another user's credential. Other credentials for the same
// place and user (wincred's, or GCM's under the other target) are then
// removed, so that every helper finds the one just stored.
func (s WinCred) Save(ctx context.Context, c *Credential) error {
	api := s.sys()
	v := encodeValue(c)
	defer clear(v)
	blob, err := toUTF16(v)
	if err != nil {
		return storeError("store", c, err)
	}
	defer clear(blob)
	if len(blob) > MaxWinCredBlob {
		return storeError("store", c, fmt.Errorf("%w: Credential Manager keeps at most %d bytes (UTF-16)", backends.ErrTooBig, MaxWinCredBlob))
	}
	target := winTarget(c, false)
	old, err := api.read(target)
	switch {
	case err == nil && old.UserName != c.Username:
		target = winTarget(c, true)
	case err != nil && !errors.Is(err, errNoCred):
		return storeError("store", c, err)
	}
	clear(old.Blob)
	w := winCred{Target: target, UserName: c.Username, Blob: blob}
	if !c.PasswordExpiry.IsZero() {
		w.Expiry = strconv.FormatInt(c.PasswordExpiry.Unix(), 10)
	}
	if err := api.write(w); err != nil {
		return storeError("store", c, err)
	}
	others, err := s.Entries(ctx, c)
	if err != nil {
		return storeError("store", c, err)
	}
	for _, e := range others {
		if e.ref != target && e.Host == c.Host && e.Path == c.Path && e.Username == c.Username {
			if err := api.remove(e.ref); err != nil && !errors.Is(err, errNoCred) {
				return storeError("store", c, fmt.Errorf("remove the older copy: %w", err))
			}
		}
	}
	return nil
}

func (s WinCred) Remove(ctx context.Context, e Entry) error {
	err := s.sys().remove(e.ref)
	if errors.Is(err, errNoCred) {
		err = backends.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("erase git credential: %w", err)
	}
	return nil
}

var errNotUTF16 = errors.New("the stored value is not UTF-16")

// toUTF16 is v, UTF-8, as UTF-16LE: what both helpers write.
func toUTF16(v []byte) ([]byte, error) {
	if !utf8.Valid(v) {
		return nil, errors.New("the password is not UTF-8, which Credential Manager's UTF-16 cannot carry")
	}
	out := make([]byte, 0, 2*len(v)) // never grows: see fromUTF16
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		v = v[n:]
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			out = append(out, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
		} else {
			out = append(out, byte(r), byte(r>>8))
		}
	}
	return out, nil
}

// fromUTF16 is the UTF-16LE blob b as UTF-8. A blob of odd length or with
// a lone surrogate is an error, not a password with U+FFFD in it.
func fromUTF16(b []byte) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, errNotUTF16
	}
	// At most three bytes of UTF-8 a UTF-16 unit: out never grows, so no
	// copy of the secret is left behind in a discarded array.
	out := make([]byte, 0, 3*len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		if utf16.IsSurrogate(u) {
			if i+3 >= len(b) {
				clear(out)
				return nil, errNotUTF16
			}
			r := utf16.DecodeRune(u, rune(b[i+2])|rune(b[i+3])<<8)
			if r == utf8.RuneError {
				clear(out)
				return nil, errNotUTF16
			}
			u = r
			i += 2
		}
		out = utf8.AppendRune(out, u)
	}
	return out, nil
}
