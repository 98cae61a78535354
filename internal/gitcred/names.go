package gitcred

import (
	"context"
	"fmt"
	"strings"

	"github.com/kr-keyring/kr/backends"
)

// NamePrefix is where git credentials live in a store kr addresses by name
// (the file vault).
const NamePrefix = "git/"

// Name is the kr name of a credential in such a store:
//
//	git/<protocol>/<host>[:port]/<user>
//	git/<protocol>/<host>[:port]/<path>/<user>
//
// Each part is one segment, spelled by backends.EscapeSegment (bytes names
// do not allow, '+' and '/' as +XX; empty as "+"; only dots escaped whole),
// so a path's slashes stay in its segment and the layout is always four or
// five segments. The value is the
// password on the first line, then password_expiry_utc= and
// oauth_refresh_token= lines when set.
func Name(c *Credential) string {
	parts := []string{"git", backends.EscapeSegment(c.Protocol), backends.EscapeSegment(c.Host)}
	if c.Path != "" {
		parts = append(parts, backends.EscapeSegment(c.Path))
	}
	return strings.Join(append(parts, backends.EscapeSegment(c.Username)), "/")
}

// parseName is the inverse of Name; ok is false for names of another
// layout, which the helper leaves alone.
func parseName(name string) (Entry, bool) {
	parts := strings.Split(name, "/")
	if len(parts) < 4 || len(parts) > 5 || parts[0] != "git" {
		return Entry{}, false
	}
	dec := make([]string, len(parts)-1)
	for i, p := range parts[1:] {
		v, ok := backends.UnescapeSegment(p)
		if !ok {
			return Entry{}, false
		}
		dec[i] = v
	}
	e := Entry{Protocol: dec[0], Host: dec[1], Username: dec[len(dec)-1], ref: name}
	if len(dec) == 4 {
		e.Path = dec[2]
	}
	return e, e.Protocol != "" && e.Username != ""
}

// Named keeps credentials in a store kr addresses by name, under Name.
type Named struct{ B backends.Backend }

// Entries lists the names under git/<protocol>/<host>/: no value is read,
// so a file vault needs no unlock for it.
func (s Named) Entries(ctx context.Context, q *Credential) ([]Entry, error) {
	prefix := strings.Join([]string{"git", backends.EscapeSegment(q.Protocol), backends.EscapeSegment(q.Host)}, "/") + "/"
	infos, err := backends.ListInfo(ctx, s.B, prefix)
	if err != nil {
		return nil, fmt.Errorf("find git credentials for %s: %w", q.URL(), err)
	}
	var out []Entry
	for _, in := range infos {
		if e, ok := parseName(in.Name); ok {
			e.Modified = in.Modified
			out = append(out, e)
		}
	}
	return out, nil
}

func (s Named) Read(ctx context.Context, e Entry) (*Credential, error) {
	v, err := s.B.Get(ctx, e.ref)
	if err != nil {
		return nil, fmt.Errorf("read git credential: %w", err)
	}
	defer clear(v)
	c := &Credential{Protocol: e.Protocol, Host: e.Host, Path: e.Path, Username: e.Username}
	decodeValue(v, c)
	return c, nil
}

func (s Named) Save(ctx context.Context, c *Credential) error {
	name := Name(c)
	if err := backends.ValidateName(name); err != nil {
		return storeError("store", c, fmt.Errorf("its kr name is not valid (too long?): %w", err))
	}
	v := encodeValue(c)
	defer clear(v)
	if err := s.B.Set(ctx, name, v); err != nil {
		return storeError("store", c, err)
	}
	return nil
}

func (s Named) Remove(ctx context.Context, e Entry) error {
	if err := s.B.Delete(ctx, e.ref); err != nil {
		return fmt.Errorf("erase git credential: %w", err)
	}
	return nil
}
