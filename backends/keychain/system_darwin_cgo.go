//go:build darwin && cgo

package keychain

import (
	"errors"

	gokeychain "github.com/keybase/go-keychain"
)

func system() (itemStore, error) { return keychainStore{}, nil }

// keychainStore talks to the Keychain through Security.framework.
type keychainStore struct{}

func query(service, account string) gokeychain.Item {
	q := gokeychain.NewItem()
	q.SetSecClass(gokeychain.SecClassGenericPassword)
	q.SetService(service)
	if account != "" {
		q.SetAccount(account)
	}
	return q
}

func mapErr(err error) error {
	if errors.Is(err, gokeychain.ErrorItemNotFound) {
		return errNoItem
	}
	return err
}

func (keychainStore) get(service, account string) ([]byte, error) {
	q := query(service, account)
	q.SetMatchLimit(gokeychain.MatchLimitOne)
	q.SetReturnData(true)
	res, err := gokeychain.QueryItem(q)
	if err != nil {
		return nil, mapErr(err)
	}
	if len(res) == 0 {
		return nil, errNoItem
	}
	return res[0].Data, nil
}

func (keychainStore) set(service, account, label string, data []byte) error {
	item := query(service, account)
	item.SetLabel(label)
	item.SetData(data)
	item.SetSynchronizable(gokeychain.SynchronizableNo)
	item.SetAccessible(gokeychain.AccessibleAfterFirstUnlock)
	err := gokeychain.AddItem(item)
	if errors.Is(err, gokeychain.ErrorDuplicateItem) {
		update := gokeychain.NewItem()
		update.SetData(data)
		update.SetLabel(label)
		return gokeychain.UpdateItem(query(service, account), update)
	}
	return err
}

func (keychainStore) remove(service, account string) error {
	return mapErr(gokeychain.DeleteItem(query(service, account)))
}

func (keychainStore) accounts(service string) ([]string, error) {
	q := query(service, "")
	q.SetMatchLimit(gokeychain.MatchLimitAll)
	q.SetReturnAttributes(true)
	res, err := gokeychain.QueryItem(q)
	if err != nil {
		if errors.Is(err, gokeychain.ErrorItemNotFound) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]string, 0, len(res))
	for _, r := range res {
		out = append(out, r.Account)
	}
	return out, nil
}

// describe reads the attributes of the service's items, never their data
// (which may raise an access prompt).
func (keychainStore) describe(service string) ([]itemInfo, error) {
	q := query(service, "")
	q.SetMatchLimit(gokeychain.MatchLimitAll)
	q.SetReturnAttributes(true)
	res, err := gokeychain.QueryItem(q)
	if err != nil {
		if errors.Is(err, gokeychain.ErrorItemNotFound) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]itemInfo, 0, len(res))
	for _, r := range res {
		out = append(out, itemInfo{account: r.Account, label: r.Label, modified: r.ModificationDate})
	}
	return out, nil
}
