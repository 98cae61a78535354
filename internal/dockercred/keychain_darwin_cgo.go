//go:build darwin && cgo

package dockercred

import (
	"errors"
	"fmt"

	gokeychain "github.com/keybase/go-keychain"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() keychainAPI { return sysKeychain{} }

type sysKeychain struct{}

func address(q keychainItem) gokeychain.Item {
	it := gokeychain.NewItem()
	it.SetSecClass(gokeychain.SecClassInternetPassword)
	it.SetProtocol(q.Protocol)
	it.SetServer(q.Server)
	if q.Port != 0 {
		it.SetPort(q.Port)
	}
	it.SetPath(q.Path)
	return it
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

func (sysKeychain) add(q keychainItem) error {
	it := address(q)
	it.SetAccount(q.Account)
	it.SetData(q.Data)
	it.SetLabel(q.Label)
	it.SetAuthenticationType("dflt")
	return keychainErr(gokeychain.AddItem(it))
}

func (sysKeychain) find(q keychainItem) (keychainItem, error) {
	it := address(q)
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
	q.Account, q.Data, q.Label = res[0].Account, res[0].Data, res[0].Label
	return q, nil
}

func (sysKeychain) remove(q keychainItem) error {
	return keychainErr(gokeychain.DeleteItem(address(q)))
}

func (sysKeychain) labelled(label string) ([]keychainItem, error) {
	it := gokeychain.NewItem()
	it.SetSecClass(gokeychain.SecClassInternetPassword)
	it.SetLabel(label)
	it.SetMatchLimit(gokeychain.MatchLimitAll)
	it.SetReturnAttributes(true)
	res, err := gokeychain.QueryItem(it)
	if err != nil {
		if errors.Is(err, gokeychain.ErrorItemNotFound) {
			return nil, nil
		}
		return nil, keychainErr(err)
	}
	out := make([]keychainItem, 0, len(res))
	for _, r := range res {
		out = append(out, keychainItem{Protocol: r.Protocol, Server: r.Server, Port: r.Port, Path: r.Path, Account: r.Account, Label: r.Label})
	}
	return out, nil
}
