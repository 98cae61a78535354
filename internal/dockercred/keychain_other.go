//go:build !darwin || !cgo

package dockercred

import (
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() keychainAPI { return noKeychain{} }

// noKeychain stands in for the Keychain's internet passwords where kr is
// built without cgo: zalando/go-keyring, kr's Keychain then, reaches only
// generic passwords.
type noKeychain struct{}

var errNoInternetPasswords = fmt.Errorf("docker's Keychain items need a kr built with cgo: %w", backends.ErrUnsupported)

func (noKeychain) add(keychainItem) error { return errNoInternetPasswords }
func (noKeychain) find(keychainItem) (keychainItem, error) {
	return keychainItem{}, errNoInternetPasswords
}
func (noKeychain) remove(keychainItem) error               { return errNoInternetPasswords }
func (noKeychain) labelled(string) ([]keychainItem, error) { return nil, errNoInternetPasswords }
