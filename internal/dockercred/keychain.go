package dockercred

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// KeychainStore keeps logins in the Keychain as docker-credential-osxkeychain
// does: an internet password whose protocol (https, or http for an http://
// URL), server, port and path come from the server URL, account the
// username, data the secret, labelled Label, authentication type "dflt"
// (which helpers before 0.9 search for).
type KeychainStore struct {
	api keychainAPI // nil: the system's Keychain
}

var _ Store = KeychainStore{}

// keychainItem is an internet password; its Protocol is "htps" or
// "http" in docker's layout.
type keychainItem = credkit.InternetPassword

// The Keychain's four-letter protocol codes (kSecAttrProtocolHTTPS is
// "htps", not a typo).
const (
	keychainHTTPS = "htps"
	keychainHTTP  = "http"
)

type keychainAPI interface {
	// add writes a new item (with authentication type "dflt").
	add(it keychainItem) error
	// find returns the first item at q's protocol, server, port and path,
	// with its data, or errNoCred.
	find(q keychainItem) (keychainItem, error)
	// remove deletes the items at q's address, or returns errNoCred.
	remove(q keychainItem) error
	// labelled returns every internet password with this label, no data.
	labelled(label string) ([]keychainItem, error)
}

func (s KeychainStore) sys() keychainAPI {
	if s.api != nil {
		return s.api
	}
	return systemKeychain()
}

// keychainAddress splits a server URL as docker-credential-osxkeychain does.
func keychainAddress(serverURL string) (keychainItem, error) {
	u, err := parseRegistryURL(serverURL)
	if err != nil {
		return keychainItem{}, fmt.Errorf("%w: server URL %q: %v", ErrBadRequest, serverURL, err)
	}
	it := keychainItem{Protocol: keychainHTTPS, Server: u.Hostname(), Path: u.Path}
	if u.Scheme == "http" {
		it.Protocol = keychainHTTP
	}
	if p := u.Port(); p != "" {
		port, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return keychainItem{}, fmt.Errorf("%w: server URL %q: bad port", ErrBadRequest, serverURL)
		}
		it.Port = int32(port)
	}
	return it, nil
}

func (s KeychainStore) Add(ctx context.Context, c Credentials) error {
	it, err := keychainAddress(c.ServerURL)
	if err != nil {
		return err
	}
	api := s.sys()
	if err := api.remove(it); err != nil && !errors.Is(err, errNoCred) {
		return fmt.Errorf("store %s: %w", c.ServerURL, err)
	}
	it.Account, it.Data, it.Label = c.Username, []byte(c.Secret), Label
	defer clear(it.Data)
	if err := api.add(it); err != nil {
		return fmt.Errorf("store %s: %w", c.ServerURL, err)
	}
	return nil
}

func (s KeychainStore) Get(ctx context.Context, serverURL string) (Credentials, error) {
	q, err := keychainAddress(serverURL)
	if err != nil {
		return Credentials{}, err
	}
	it, err := s.sys().find(q)
	if errors.Is(err, errNoCred) {
		return Credentials{}, fmt.Errorf("%s: %w", serverURL, backends.ErrNotFound)
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("get %s: %w", serverURL, err)
	}
	defer clear(it.Data)
	return Credentials{ServerURL: serverURL, Username: it.Account, Secret: string(it.Data)}, nil
}

func (s KeychainStore) Delete(ctx context.Context, serverURL string) error {
	q, err := keychainAddress(serverURL)
	if err != nil {
		return err
	}
	err = s.sys().remove(q)
	if errors.Is(err, errNoCred) {
		return fmt.Errorf("%s: %w", serverURL, backends.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("erase %s: %w", serverURL, err)
	}
	return nil
}

// List spells each item's address back as a URL, as
// docker-credential-osxkeychain does.
func (s KeychainStore) List(ctx context.Context) (map[string]string, error) {
	items, err := s.sys().labelled(Label)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := map[string]string{}
	for _, it := range items {
		scheme := "http"
		if it.Protocol == keychainHTTPS {
			scheme = "https"
		}
		host := it.Server
		if it.Port != 0 {
			host = net.JoinHostPort(host, strconv.Itoa(int(it.Port)))
		}
		out[(&url.URL{Scheme: scheme, Host: host, Path: it.Path}).String()] = it.Account
	}
	return out, nil
}
