package gitcred

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// Keychain keeps credentials in the macOS Keychain as
// git-credential-osxkeychain does: an internet password whose server is
// the host without its port, port the port (none when git sent none),
// protocol the Keychain's code for git's, path the path when git sent one,
// account the user name, authentication type default, and as data the
// password, then password_expiry_utc= and oauth_refresh_token= lines as
// newer helpers write them. Like that helper, kr neither stores nor finds
// credentials of protocols the Keychain has no code for (git's "cert", for
// one).
type Keychain struct {
	api keychainAPI // nil: the system's Keychain
}

// keychainProtocols are git-credential-osxkeychain's: git's protocol names
// and the Keychain's four-letter codes (kSecAttrProtocolHTTPS is "htps",
// kSecAttrProtocolFTP "ftp " with its space).
var keychainProtocols = map[string]string{
	"imap": "imap", "imaps": "imps", "ftp": "ftp ", "ftps": "ftps",
	"https": "htps", "http": "http", "smtp": "smtp",
}

// keychainItem is an internet password; git's layout sets no Label but
// the one put gives it.
type keychainItem = credkit.InternetPassword

type keychainAPI interface {
	// find returns the items at q's protocol and server, and at q's
	// path, port and account where set, without data.
	find(q keychainItem) ([]keychainItem, error)
	// read returns the item at exactly q's address and account (no path
	// or port when q has none), with data, or errNoCred.
	read(q keychainItem) (keychainItem, error)
	// put adds it, or replaces the data of the item at its address and
	// account.
	put(it keychainItem) error
	// remove deletes the item at exactly q's address and account, or
	// returns errNoCred.
	remove(q keychainItem) error
}

func (s Keychain) sys() keychainAPI {
	if s.api != nil {
		return s.api
	}
	return systemKeychain()
}

// keychainAddress is c's item address; ok is false for a protocol the
// Keychain has no code for, or a port that is not one.
func keychainAddress(c *Credential) (keychainItem, bool) {
	code, ok := keychainProtocols[c.Protocol]
	if !ok {
		return keychainItem{}, false
	}
	host, port := c.hostPort()
	it := keychainItem{Protocol: code, Server: host, Path: c.Path, Account: c.Username}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return keychainItem{}, false
		}
		it.Port = int32(n)
	}
	return it, true
}

// entryOf is the entry of an item found for protocol.
func keychainEntry(protocol string, it keychainItem) Entry {
	e := Entry{Protocol: protocol, Host: it.Server, Path: it.Path, Username: it.Account, Modified: it.Modified}
	if it.Port != 0 {
		e.Host += ":" + strconv.Itoa(int(it.Port))
	}
	return e
}

// Entries finds the items at q's protocol and server; the port and path
// are compared by the helper.
func (s Keychain) Entries(ctx context.Context, q *Credential) ([]Entry, error) {
	a, ok := keychainAddress(q)
	if !ok {
		return nil, nil
	}
	items, err := s.sys().find(keychainItem{Protocol: a.Protocol, Server: a.Server, Account: a.Account})
	if err != nil {
		return nil, fmt.Errorf("find git credentials for %s: %w", q.URL(), err)
	}
	out := make([]Entry, 0, len(items))
	for _, it := range items {
		out = append(out, keychainEntry(q.Protocol, it))
	}
	return out, nil
}

// Read builds the credential from the item the Keychain returns, not from
// e, so that the helper checks what it got.
func (s Keychain) Read(ctx context.Context, e Entry) (*Credential, error) {
	a, ok := keychainAddress(&Credential{Protocol: e.Protocol, Host: e.Host, Path: e.Path, Username: e.Username})
	if !ok {
		return nil, fmt.Errorf("read git credential: %w", backends.ErrNotFound)
	}
	it, err := s.sys().read(a)
	if errors.Is(err, errNoCred) {
		err = backends.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read git credential: %w", err)
	}
	defer clear(it.Data)
	got := keychainEntry(e.Protocol, it)
	c := &Credential{Protocol: got.Protocol, Host: got.Host, Path: got.Path, Username: got.Username}
	decodeValue(it.Data, c)
	return c, nil
}

func (s Keychain) Save(ctx context.Context, c *Credential) error {
	it, ok := keychainAddress(c)
	if !ok {
		return nil // as git-credential-osxkeychain: not a protocol it keeps
	}
	it.Data = encodeValue(c)
	defer clear(it.Data)
	if err := s.sys().put(it); err != nil {
		return storeError("store", c, err)
	}
	return nil
}

func (s Keychain) Remove(ctx context.Context, e Entry) error {
	a, ok := keychainAddress(&Credential{Protocol: e.Protocol, Host: e.Host, Path: e.Path, Username: e.Username})
	if !ok {
		return nil
	}
	err := s.sys().remove(a)
	if errors.Is(err, errNoCred) {
		err = backends.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("erase git credential: %w", err)
	}
	return nil
}
