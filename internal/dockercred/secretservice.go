package dockercred

import (
	"context"
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
	"github.com/kr-keyring/kr/internal/credkit"
)

// The Secret Service layout of docker-credential-secretservice: libsecret
// schema io.docker.Credentials with the attributes below, display label the
// server URL (Debian's 0.6.4 helper; 0.9 and later write "Registry
// credentials for URL", which kr reads all the same, as it goes by the
// server attribute).
const (
	schemaDocker = "io.docker.Credentials"
	attrLabel    = "label"
	attrServer   = "server"
	attrUsername = "username"
	attrCLI      = "docker_cli"
)

// SecretServiceStore keeps logins as docker-credential-secretservice does.
// One login per server: storing removes the server's items for other
// usernames, which docker's helper leaves behind (it replaces only an
// item with the same username) and then reads in no fixed order.
type SecretServiceStore struct{ SS credkit.SchemaStore }

var _ Store = SecretServiceStore{}

// serverQuery is what docker's helper searches a server's login by.
func serverQuery(url string) map[string]string {
	return map[string]string{secretservice.AttrSchema: schemaDocker, attrServer: url, attrCLI: "1"}
}

// logins returns the server's items, newest first, checked attribute by
// attribute: the search matches values exactly, but kr does not lean on
// every provider getting that right.
func (s SecretServiceStore) logins(ctx context.Context, url string) ([]secretservice.SchemaItem, error) {
	items, err := s.SS.SearchSchema(ctx, serverQuery(url))
	if err != nil {
		return nil, err
	}
	out := items[:0]
	for _, it := range items {
		if it.Attributes[secretservice.AttrSchema] == schemaDocker && it.Attributes[attrServer] == url && it.Attributes[attrCLI] == "1" {
			out = append(out, it)
		}
	}
	return out, nil
}

func (s SecretServiceStore) Add(ctx context.Context, c Credentials) error {
	attrs := serverQuery(c.ServerURL)
	attrs[attrLabel] = Label
	attrs[attrUsername] = c.Username
	secret := []byte(c.Secret)
	defer clear(secret)
	if err := s.SS.StoreSchema(ctx, c.ServerURL, attrs, secret); err != nil {
		return err
	}
	items, err := s.logins(ctx, c.ServerURL)
	if err != nil {
		return fmt.Errorf("store %s: look for older logins: %w", c.ServerURL, err)
	}
	for _, it := range items {
		if it.Attributes[attrUsername] == c.Username {
			continue
		}
		if err := s.SS.DeleteSchema(ctx, it.Path); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return fmt.Errorf("store %s: remove the login of another user: %w", c.ServerURL, err)
		}
	}
	return nil
}

func (s SecretServiceStore) Get(ctx context.Context, url string) (Credentials, error) {
	items, err := s.logins(ctx, url)
	if err != nil {
		return Credentials{}, fmt.Errorf("get %s: %w", url, err)
	}
	for _, it := range items {
		secret, err := s.SS.SchemaSecret(ctx, it.Path)
		if errors.Is(err, backends.ErrNotFound) {
			continue // deleted since the search
		}
		if err != nil {
			return Credentials{}, fmt.Errorf("get %s: %w", url, err)
		}
		defer clear(secret)
		return Credentials{ServerURL: url, Username: it.Attributes[attrUsername], Secret: string(secret)}, nil
	}
	return Credentials{}, fmt.Errorf("%s: %w", url, backends.ErrNotFound)
}

func (s SecretServiceStore) Delete(ctx context.Context, url string) error {
	items, err := s.logins(ctx, url)
	if err != nil {
		return fmt.Errorf("erase %s: %w", url, err)
	}
	if len(items) == 0 {
		return fmt.Errorf("%s: %w", url, backends.ErrNotFound)
	}
	for _, it := range items {
		if err := s.SS.DeleteSchema(ctx, it.Path); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return fmt.Errorf("erase %s: %w", url, err)
		}
	}
	return nil
}

// List names each login by its server attribute, where docker's helper
// gives the display label (the same URL for the items it and kr write).
func (s SecretServiceStore) List(ctx context.Context) (map[string]string, error) {
	items, err := s.SS.SearchSchema(ctx, map[string]string{secretservice.AttrSchema: schemaDocker, attrLabel: Label})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := map[string]string{}
	for _, it := range items {
		server := it.Attributes[attrServer]
		if server == "" {
			server = it.Label
		}
		if _, seen := out[server]; seen {
			continue // items come newest first
		}
		user, ok := it.Attributes[attrUsername]
		if !ok {
			user = "account not defined" // docker's helper's words
		}
		out[server] = user
	}
	return out, nil
}
