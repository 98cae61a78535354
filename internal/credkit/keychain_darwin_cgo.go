//go:build darwin && cgo

package credkit

import (
	"errors"
	"fmt"

	gokeychain "github.com/keybase/go-keychain"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() Keychain { return sysKeychain{} }

type sysKeychain struct{}

// query addresses the internet passwords matching q's set fields
// (go-keychain leaves an empty string or a zero port out of the query).
func query(q InternetPassword) gokeychain.Item {
	it := gokeychain.NewItem()
	it.SetSecClass(gokeychain.SecClassInternetPassword)
	it.SetProtocol(q.Protocol)
	it.SetServer(q.Server)
	it.SetPort(q.Port)
	it.SetPath(q.Path)
	it.SetAccount(q.Account)
	it.SetLabel(q.Label)
	return it
}

func itemOf(r gokeychain.QueryResult) InternetPassword {
	return InternetPassword{Protocol: r.Protocol, Server: r.Server, Port: r.Port, Path: r.Path,
		Account: r.Account, Label: r.Label, Data: r.Data, Modified: r.ModificationDate}
}

func keychainErr(err error) error {
	switch {
	case errors.Is(err, gokeychain.ErrorItemNotFound):
		return ErrNoItem
	case errors.Is(err, gokeychain.ErrorDuplicateItem):
		return ErrDuplicate
	case errors.Is(err, gokeychain.ErrorInteractionNotAllowed):
		return fmt.Errorf("%w: the Keychain may not ask for its password in this session", backends.ErrLocked)
	}
	return err
}

func (sysKeychain) Find(q InternetPassword) ([]InternetPassword, error) {
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
	out := make([]InternetPassword, 0, len(res))
	for _, r := range res {
		out = append(out, itemOf(r))
	}
	return out, nil
}

func (sysKeychain) Read(q InternetPassword) (InternetPassword, error) {
	it := query(q)
	it.SetMatchLimit(gokeychain.MatchLimitOne)
	it.SetReturnAttributes(true)
	it.SetReturnData(true)
	res, err := gokeychain.QueryItem(it)
	if err != nil {
		return InternetPassword{}, keychainErr(err)
	}
	if len(res) == 0 {
		return InternetPassword{}, ErrNoItem
	}
	return itemOf(res[0]), nil
}

func (sysKeychain) Add(q InternetPassword) error {
	it := query(q)
	it.SetAuthenticationType("dflt")
	it.SetData(q.Data)
	return keychainErr(gokeychain.AddItem(it))
}

func (sysKeychain) Update(q InternetPassword, data []byte) error {
	update := gokeychain.NewItem()
	update.SetData(data)
	return keychainErr(gokeychain.UpdateItem(query(q), update))
}

func (sysKeychain) Delete(q InternetPassword) error {
	return keychainErr(gokeychain.DeleteItem(query(q)))
}
