package gitcred

import (
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/internal/credkit"
)

// This file binds git's layouts to the stores' raw items in credkit: the
// Keychain's internet passwords and Credential Manager's generic
// credentials, as keychainAPI and winCredAPI see them.

// errNoCred is the raw stores' answer for an address with no item.
var errNoCred = credkit.ErrNoItem

func systemKeychain() keychainAPI { return sysKeychain{} }

// sysKeychain is git's view of the Keychain's internet passwords.
type sysKeychain struct{}

func (sysKeychain) kc() credkit.Keychain { return credkit.SystemKeychain() }

// address is q without data or label: a query.
func address(q keychainItem) keychainItem {
	return keychainItem{Protocol: q.Protocol, Server: q.Server, Port: q.Port, Path: q.Path, Account: q.Account}
}

func (s sysKeychain) find(q keychainItem) ([]keychainItem, error) { return s.kc().Find(address(q)) }

func (s sysKeychain) read(q keychainItem) (keychainItem, error) { return s.kc().Read(address(q)) }

// only checks that q's address reaches no item at another port (nor, with
// samePath, another path), since the Keychain reads a zero port or an
// empty path as "any": an update or delete must not touch those.
func (s sysKeychain) only(q keychainItem, samePath bool) error {
	items, err := s.kc().Find(address(q))
	if err != nil {
		return err
	}
	for _, r := range items {
		if r.Port != q.Port || samePath && r.Path != q.Path {
			return fmt.Errorf("the Keychain would change other items for %s too (port %d, path %q): change this one in Keychain Access", q.Server, r.Port, r.Path)
		}
	}
	return nil
}

// put adds the item as git-credential-osxkeychain does (labelled with the
// server), or replaces the data of the one at its address.
func (s sysKeychain) put(q keychainItem) error {
	it := address(q)
	it.Label, it.Data = q.Server, q.Data // as git-credential-osxkeychain labels them
	err := s.kc().Add(it)
	if !errors.Is(err, credkit.ErrDuplicate) {
		return err
	}
	if err := s.only(q, true); err != nil {
		return err
	}
	return s.kc().Update(address(q), q.Data)
}

func (s sysKeychain) remove(q keychainItem) error {
	// Items at other paths are the helper's candidates too when it
	// removes one without a path: only the port must be this one.
	if err := s.only(q, false); err != nil {
		return err
	}
	return s.kc().Delete(address(q))
}

func systemWinCred() winCredAPI { return sysWinCred{credkit.SystemCredentialManager()} }

// WinCredVia is the Credential Manager layout over cm, a Credential Manager
// reached from elsewhere: kr in WSL reaches Windows' through kr.exe, so that
// git in WSL and Git for Windows share their logins.
func WinCredVia(cm credkit.CredentialManager) WinCred { return WinCred{api: sysWinCred{cm}} }

// sysWinCred is git's view of Credential Manager's generic credentials.
type sysWinCred struct{ cm credkit.CredentialManager }

// expiryAttr is git-credential-wincred's attribute for
// password_expiry_utc, a UTF-16LE decimal.
const expiryAttr = "git_password_expiry_utc"

func fromRaw(g credkit.GenericCredential) winCred {
	w := winCred{Target: g.Target, UserName: g.UserName, Comment: g.Comment, Blob: g.Blob, Modified: g.Modified}
	if a := g.Attribute(expiryAttr); a != nil {
		if v, err := fromUTF16(a); err == nil {
			w.Expiry = string(v)
		}
	}
	return w
}

func (s sysWinCred) list(prefix string) ([]winCred, error) {
	all, err := s.cm.List(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]winCred, 0, len(all))
	for _, g := range all {
		out = append(out, fromRaw(g))
	}
	return out, nil
}

func (s sysWinCred) read(target string) (winCred, error) {
	g, err := s.cm.Read(target)
	if err != nil {
		return winCred{}, err
	}
	return fromRaw(g), nil
}

func (s sysWinCred) write(w winCred) error {
	g := credkit.GenericCredential{Target: w.Target, UserName: w.UserName, Blob: w.Blob}
	if w.Expiry != "" {
		v, _ := toUTF16([]byte(w.Expiry)) // digits
		g.Attributes = []credkit.Attribute{{Keyword: expiryAttr, Value: v}}
	}
	return s.cm.Write(g)
}

func (s sysWinCred) remove(target string) error {
	return s.cm.Delete(target)
}
