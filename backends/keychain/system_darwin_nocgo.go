//go:build darwin && !cgo

package keychain

import (
	"context"
	"errors"
	"os/exec"
	"time"

	"github.com/zalando/go-keyring"
)

func system() (itemStore, error) { return securityStore{}, nil }

// securityStore uses /usr/bin/security through zalando/go-keyring, which
// passes secrets on stdin, never argv. go-keyring encodes every value it
// writes (go-keyring-base64:), which decodeValue undoes.
type securityStore struct{}

func (securityStore) get(service, account string) ([]byte, error) {
	v, err := keyring.Get(service, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, errNoItem
	}
	return []byte(v), err
}

func (securityStore) set(service, account, label string, data []byte) error {
	return keyring.Set(service, account, string(data))
}

func (securityStore) remove(service, account string) error {
	err := keyring.Delete(service, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return errNoItem
	}
	return err
}

// accounts lists through `security dump-keychain`, which prints item
// attributes (never secrets without -d).
func (securityStore) accounts(service string) ([]string, error) {
	out, err := dumpKeychain()
	if err != nil {
		return nil, err
	}
	return parseDump(out, service), nil
}

func (securityStore) describe(service string) ([]itemInfo, error) {
	out, err := dumpKeychain()
	if err != nil {
		return nil, err
	}
	return parseDumpItems(out, service), nil
}

func dumpKeychain() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "/usr/bin/security", "dump-keychain").Output()
}
