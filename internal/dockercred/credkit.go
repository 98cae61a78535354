package dockercred

import (
	"github.com/kr-keyring/kr/internal/credkit"
)

// This file binds docker's layouts to the stores' raw items in credkit:
// the Keychain's internet passwords and Credential Manager's generic
// credentials, as keychainAPI and winCredAPI see them.

// errNoCred is the raw stores' answer for an address with no item.
var errNoCred = credkit.ErrNoItem

func systemKeychain() keychainAPI { return sysKeychain{} }

// sysKeychain is docker's view of the Keychain's internet passwords.
type sysKeychain struct{}

func (sysKeychain) add(it keychainItem) error { return credkit.SystemKeychain().Add(it) }

// find reads the item at q's address alone: protocol, server, port and
// path, never the account (docker keeps one login a server).
func (sysKeychain) find(q keychainItem) (keychainItem, error) {
	return credkit.SystemKeychain().Read(keychainItem{Protocol: q.Protocol, Server: q.Server, Port: q.Port, Path: q.Path})
}

func (sysKeychain) remove(q keychainItem) error {
	return credkit.SystemKeychain().Delete(keychainItem{Protocol: q.Protocol, Server: q.Server, Port: q.Port, Path: q.Path})
}

func (sysKeychain) labelled(label string) ([]keychainItem, error) {
	return credkit.SystemKeychain().Find(keychainItem{Label: label})
}

func systemWinCred() winCredAPI { return sysWinCred{credkit.SystemCredentialManager()} }

// WinCredVia is the Credential Manager layout over cm, a Credential Manager
// reached from elsewhere: kr in WSL reaches Windows' through kr.exe, so that
// docker in WSL and on Windows share their logins.
func WinCredVia(cm credkit.CredentialManager) WinCredStore { return WinCredStore{api: sysWinCred{cm}} }

// sysWinCred is docker's view of Credential Manager's generic credentials.
type sysWinCred struct{ cm credkit.CredentialManager }

// labelAttr is the attribute by which docker-credential-wincred tells its
// credentials from others', holding Label.
const labelAttr = "label"

func fromRaw(g credkit.GenericCredential) winCred {
	return winCred{Target: g.Target, UserName: g.UserName, Blob: g.Blob, Label: string(g.Attribute(labelAttr))}
}

// list returns every credential of the user: docker's targets share no
// prefix to filter on.
func (s sysWinCred) list() ([]winCred, error) {
	all, err := s.cm.List("")
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

func (s sysWinCred) write(c winCred) error {
	return s.cm.Write(credkit.GenericCredential{Target: c.Target, UserName: c.UserName, Blob: c.Blob,
		Attributes: []credkit.Attribute{{Keyword: labelAttr, Value: []byte(c.Label)}}})
}

func (s sysWinCred) remove(target string) error {
	return s.cm.Delete(target)
}
