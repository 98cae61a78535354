package dockercred

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// NamePrefix is where logins live in a store that only has kr's names
// (the file vault): docker/ and the server URL escaped by EscapeServerURL,
// holding the JSON object {"Username": ..., "Secret": ...}.
const NamePrefix = "docker/"

// NamedStore keeps logins as secrets of a kr store under NamePrefix.
type NamedStore struct {
	B backends.Backend
}

var _ Store = NamedStore{}

// EscapeServerURL spells a server URL as one name segment
// (backends.EscapeSegment): "https://index.docker.io/v1/" is
// "https:+2F+2Findex.docker.io+2Fv1+2F".
func EscapeServerURL(url string) string { return backends.EscapeSegment(url) }

// UnescapeServerURL reverses EscapeServerURL; ok is false for a spelling
// EscapeServerURL never makes.
func UnescapeServerURL(s string) (url string, ok bool) { return backends.UnescapeSegment(s) }

// nameOf is the secret name of a server's login, refused with a docker
// error when too long for a name.
func nameOf(url string) (string, error) {
	name := NamePrefix + EscapeServerURL(url)
	if err := backends.ValidateName(name); err != nil {
		return "", fmt.Errorf("server URL %q cannot be stored in this store: %w", url, err)
	}
	return name, nil
}

type namedValue struct {
	Username string
	Secret   string
}

func (s NamedStore) Add(ctx context.Context, c Credentials) error {
	name, err := nameOf(c.ServerURL)
	if err != nil {
		return err
	}
	v, err := json.Marshal(namedValue{c.Username, c.Secret})
	if err != nil {
		return err
	}
	defer clear(v)
	if err := s.B.Set(ctx, name, v); err != nil {
		return fmt.Errorf("store %s: %w", name, err)
	}
	return nil
}

func (s NamedStore) Get(ctx context.Context, url string) (Credentials, error) {
	name, err := nameOf(url)
	if err != nil {
		if errors.Is(err, backends.ErrInvalidName) {
			return Credentials{}, fmt.Errorf("%s: %w", url, backends.ErrNotFound)
		}
		return Credentials{}, err
	}
	v, err := s.read(ctx, name)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{ServerURL: url, Username: v.Username, Secret: v.Secret}, nil
}

func (s NamedStore) read(ctx context.Context, name string) (namedValue, error) {
	raw, err := s.B.Get(ctx, name)
	if err != nil {
		return namedValue{}, fmt.Errorf("get %s: %w", name, err)
	}
	defer clear(raw)
	var v namedValue
	if !utf8.Valid(raw) || bytes.IndexByte(raw, 0) >= 0 {
		return namedValue{}, fmt.Errorf("%s is not a docker login: not JSON text", name)
	}
	if err := strictjson.Unmarshal(raw, &v); err != nil {
		// The value's bytes are a secret: name the fault, not the content.
		return namedValue{}, fmt.Errorf("%s is not a docker login: not a JSON object with Username and Secret", name)
	}
	if v.Username == "" {
		return namedValue{}, fmt.Errorf("%s is not a docker login: no Username", name)
	}
	return v, nil
}

func (s NamedStore) Delete(ctx context.Context, url string) error {
	name, err := nameOf(url)
	if err != nil {
		if errors.Is(err, backends.ErrInvalidName) {
			return fmt.Errorf("%s: %w", url, backends.ErrNotFound)
		}
		return err
	}
	if err := s.B.Delete(ctx, name); err != nil {
		return fmt.Errorf("erase %s: %w", name, err)
	}
	return nil
}

// List reads every login under NamePrefix (the usernames are inside the
// values). Names there that EscapeServerURL did not make are not logins
// and are left out.
func (s NamedStore) List(ctx context.Context) (map[string]string, error) {
	names, err := s.B.List(ctx, NamePrefix)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := map[string]string{}
	for _, name := range names {
		url, ok := UnescapeServerURL(strings.TrimPrefix(name, NamePrefix))
		if !ok {
			continue
		}
		v, err := s.read(ctx, name)
		if errors.Is(err, backends.ErrNotFound) {
			continue // erased meanwhile
		}
		if err != nil {
			return nil, err
		}
		out[url] = v.Username
	}
	return out, nil
}
