//go:build darwin && cgo

package gitcred

import (
	"errors"
	"fmt"

	gokeychain "github.com/keybase/go-keychain"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() keychainAPI { return sysKeychain{} }

type sysKeychain struct{}

// query addresses internet passwords at q's protocol and server, and at
// its account, port and path where set.
func query(q keychainItem) gokeychain.Item {
	it := gokeychain.NewItem()
	it.SetSecClass(gokeychain.SecClassInternetPassword)
	it.SetProtocol(q.Protocol)
	it.SetServer(q.Server)
	if q.Account != "" {
		it.SetAccount(q.Account)
	}
	if q.Port != 0 {
		it.SetPort(q.Port)
	}
	if q.Path != "" {
		it.SetPath(q.Path)
	}
	return it
}

func itemOf(r gokeychain.QueryResult) keychainItem {
	return keychainItem{Protocol: r.Protocol, Server: r.Server, Port: r.Port, Path: r.Path,
		Account: r.Account, Data: r.Data, Modified: r.ModificationDate}
}

func keychainErr(err error) error {
	switch {
	case errors.Is(err, gokeychain.ErrorItemNotFound):
		return errNoCred
	case errors.Is(err, gokeychain.ErrorInteractionNotAllowed):
		return fmt.Errorf("%w: the Keychain may not ask for its password in this session", backends.ErrLocked)
	}
	return err
}

func (sysKeychain) find(q keychainItem) ([]keychainItem, error) {
	it := query(q)
	it.SetMatchLimit(gokeychain.MatchLimitAll)
	it.SetReturnAttributes(true)
	res, err := gokeychain.QueryItem(it)
	if errors.Is(err, gokeychain.ErrorItemNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, keychainErr(err)
	}
	out := make([]keychainItem, 0, len(res))
	for _, r := range res {
		out = append(out, itemOf(r))
	}
	return out, nil
}

// exact addresses the item at q's address and account, port and path
// included when they are none.
func exact(q keychainItem) gokeychain.Item {
	it := query(q)
	it.SetPort(q.Port)
	it.SetPath(q.Path)
	return it
}

// only checks that exact(q) reaches no item at another port (nor, with
// samePath, another path), in case the Keychain reads a zero port or an
// empty path as "any": an update or delete must not touch those.
func only(q keychainItem, samePath bool) error {
	it := exact(q)
	it.SetMatchLimit(gokeychain.MatchLimitAll)
	it.SetReturnAttributes(true)
	res, err := gokeychain.QueryItem(it)
	if err != nil && !errors.Is(err, gokeychain.ErrorItemNotFound) {
		return keychainErr(err)
	}
	for _, r := range res {
		if r.Port != q.Port || samePath && r.Path != q.Path {
			return fmt.Errorf("the Keychain would change other items for %s too (port %d, path %q): change this one in Keychain Access", q.Server, r.Port, r.Path)
		}
	}
	return nil
}

func (sysKeychain) read(q keychainItem) (keychainItem, error) {
	it := exact(q)
	it.SetMatchLimit(gokeychain.MatchLimitOne)
	it.SetReturnAttributes(true)
	it.SetReturnData(true)
	res, err := gokeychain.QueryItem(it)
	if err != nil {
		return keychainItem{}, keychainErr(err)
	}
	if len(res) == 0 {
		return keychainItem{}, errNoCred
	}
	return itemOf(res[0]), nil
}

func (sysKeychain) put(q keychainItem) error {
	it := query(q)
	it.SetAuthenticationType("dflt")
	it.SetLabel(q.Server)
	it.SetData(q.Data)
	err := gokeychain.AddItem(it)
	if !errors.Is(err, gokeychain.ErrorDuplicateItem) {
		return keychainErr(err)
	}
	if err := only(q, true); err != nil {
		return err
	}
	update := gokeychain.NewItem()
	update.SetData(q.Data)
	return keychainErr(gokeychain.UpdateItem(exact(q), update))
}

func (sysKeychain) remove(q keychainItem) error {
	// Items at other paths are the helper's candidates too when it
	// removes one without a path: only the port must be this one.
	if err := only(q, false); err != nil {
		return err
	}
	return keychainErr(gokeychain.DeleteItem(exact(q)))
}
