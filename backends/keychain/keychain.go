// Package keychain stores kr's secrets in the macOS Keychain as generic
// passwords (service SERVICE, account NAME), the schema zalando/go-keyring
// and the `security` tool use. The OS-specific part is a thin item store:
// keybase/go-keychain with cgo, zalando/go-keyring (/usr/bin/security)
// without; everything else lives here and is tested on every OS.
package keychain

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
)

// Options configures Open.
type Options struct {
	Service string // default "kr"
}

// itemStore is the Keychain as kr uses it.
type itemStore interface {
	get(service, account string) ([]byte, error) // errNoItem when absent
	set(service, account, label string, data []byte) error
	remove(service, account string) error // errNoItem when absent
	accounts(service string) ([]string, error)
}

var errNoItem = errors.New("item not found")

// Backend implements backends.Backend on the Keychain.
type Backend struct {
	service string
	items   itemStore
}

var _ backends.Backend = (*Backend)(nil)

// Open returns the Keychain backend; elsewhere it fails with
// backends.ErrUnsupported.
func Open(ctx context.Context, opts Options) (*Backend, error) {
	items, err := system()
	if err != nil {
		return nil, err
	}
	return newBackend(opts.Service, items), nil
}

func newBackend(service string, items itemStore) *Backend {
	if service == "" {
		service = "kr"
	}
	return &Backend{service: service, items: items}
}

func (b *Backend) Name() string { return backends.Keychain }

func (b *Backend) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := b.items.get(b.service, name)
	if errors.Is(err, errNoItem) {
		return nil, fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	v, err := decodeValue(raw)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return v, nil
}

func (b *Backend) Set(ctx context.Context, name string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.items.set(b.service, name, name+" (kr)", encodeValue(value)); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	return nil
}

func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.items.remove(b.service, name)
	if errors.Is(err, errNoItem) {
		return fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	accts, err := b.items.accounts(b.service)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for _, a := range accts {
		if !seen[a] && strings.HasPrefix(a, prefix) && backends.ValidateName(a) == nil {
			seen[a] = true
			names = append(names, a)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Prefixes zalando/go-keyring writes: hex (older releases) and base64.
const (
	goKeyringHex    = "go-keyring-encoded:"
	goKeyringBase64 = "go-keyring-base64:"
)

// decodeValue undoes go-keyring's encodings; anything else is the value.
func decodeValue(raw []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(raw, []byte(goKeyringBase64)):
		v, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw[len(goKeyringBase64):])))
		if err != nil {
			return nil, fmt.Errorf("value has the go-keyring base64 prefix but does not decode: %w", err)
		}
		return v, nil
	case bytes.HasPrefix(raw, []byte(goKeyringHex)):
		v, err := hex.DecodeString(strings.TrimSpace(string(raw[len(goKeyringHex):])))
		if err != nil {
			return nil, fmt.Errorf("value has the go-keyring hex prefix but does not decode: %w", err)
		}
		return v, nil
	}
	return raw, nil
}

// encodeValue stores a value as itself, so that `security` and other tools
// read it, except one that starts like a go-keyring encoding: that one is
// encoded, so that reading it back cannot mistake it.
func encodeValue(v []byte) []byte {
	if bytes.HasPrefix(v, []byte(goKeyringBase64)) || bytes.HasPrefix(v, []byte(goKeyringHex)) {
		return []byte(goKeyringBase64 + base64.StdEncoding.EncodeToString(v))
	}
	return v
}
