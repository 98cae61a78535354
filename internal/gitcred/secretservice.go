package gitcred

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
	"github.com/kr-keyring/kr/internal/credkit"
)

// The Secret Service item layout of git-credential-libsecret. Debian's
// helper (git 2.39) stores and searches with libsecret's compatibility
// schema org.gnome.keyring.NetworkPassword, and finds nothing of any other
// schema; newer helpers store org.git.Password but search
// without a schema. kr writes NetworkPassword, the one both find, and
// reads both.
const (
	schemaNetwork = "org.gnome.keyring.NetworkPassword"
	schemaGit     = "org.git.Password"
	attrUser      = "user"
	attrServer    = "server"
	attrProtocol  = "protocol"
	attrPort      = "port"
	attrObject    = "object"
)

// readSchemas are searched by Entries, in this order.
var readSchemas = [...]string{schemaNetwork, schemaGit}

// SecretService keeps credentials as git-credential-libsecret does.
type SecretService struct{ SS credkit.SchemaStore }

// attributes are libsecret's for c: the port apart from the host, as a
// decimal (SECRET_SCHEMA_ATTRIBUTE_INTEGER is stored as its decimal
// text); the user name only when set.
func attributes(c *Credential, schema string) map[string]string {
	a := map[string]string{secretservice.AttrSchema: schema, attrProtocol: c.Protocol}
	host, port := c.hostPort()
	if host != "" {
		a[attrServer] = host
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil && n > 0 {
		a[attrPort] = strconv.FormatUint(n, 10)
	}
	if c.Path != "" {
		a[attrObject] = c.Path
	}
	if c.Username != "" {
		a[attrUser] = c.Username
	}
	return a
}

// label is the helper's: "Git: https://example.org:8443/path", with a
// slash after the host even without a path.
func label(c *Credential) string {
	return "Git: " + c.Protocol + "://" + c.Host + "/" + c.Path
}

// entryOf reads an item's attributes back into an Entry; ok is false for
// an item with no protocol.
func entryOf(it secretservice.SchemaItem) (Entry, bool) {
	a := it.Attributes
	e := Entry{Protocol: a[attrProtocol], Host: a[attrServer], Path: a[attrObject], Username: a[attrUser],
		Modified: it.Modified, ref: string(it.Path)}
	if p, ok := a[attrPort]; ok && p != "0" {
		e.Host += ":" + p
	}
	return e, e.Protocol != ""
}

// Entries searches by protocol and server (and user and object when git
// sent them); the port is compared by the helper, since a search without
// a port attribute also finds items that have one.
func (s SecretService) Entries(ctx context.Context, q *Credential) ([]Entry, error) {
	var out []Entry
	for _, schema := range readSchemas {
		a := attributes(q, schema)
		delete(a, attrPort)
		items, err := s.SS.SearchSchema(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("find git credentials for %s: %w", q.URL(), err)
		}
		for _, it := range items {
			if e, ok := entryOf(it); ok {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

func (s SecretService) Read(ctx context.Context, e Entry) (*Credential, error) {
	v, err := s.SS.SchemaSecret(ctx, dbus.ObjectPath(e.ref))
	if err != nil {
		return nil, fmt.Errorf("read git credential: %w", err)
	}
	defer clear(v)
	c := &Credential{Protocol: e.Protocol, Host: e.Host, Path: e.Path, Username: e.Username}
	decodeValue(v, c)
	return c, nil
}

// Save writes c in the NetworkPassword schema and then removes the items
// of org.git.Password with the same attributes, which newer helpers wrote:
// one credential per place, whichever helper stored it last.
func (s SecretService) Save(ctx context.Context, c *Credential) error {
	attrs := attributes(c, schemaNetwork)
	v := encodeValue(c)
	defer clear(v)
	if err := s.SS.StoreSchema(ctx, label(c), attrs, v); err != nil {
		return storeError("store", c, err)
	}
	want := maps.Clone(attrs)
	want[secretservice.AttrSchema] = schemaGit
	others, err := s.SS.SearchSchema(ctx, want)
	if err != nil {
		return storeError("store", c, err)
	}
	for _, it := range others {
		if maps.Equal(it.Attributes, want) {
			if err := s.SS.DeleteSchema(ctx, it.Path); err != nil && !errors.Is(err, backends.ErrNotFound) {
				return storeError("store", c, fmt.Errorf("remove the older copy: %w", err))
			}
		}
	}
	return nil
}

func (s SecretService) Remove(ctx context.Context, e Entry) error {
	if err := s.SS.DeleteSchema(ctx, dbus.ObjectPath(e.ref)); err != nil {
		return fmt.Errorf("erase git credential: %w", err)
	}
	return nil
}
