//go:build !darwin || !cgo

package gitcred

import (
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() keychainAPI { return noKeychain{} }

// noKeychain stands in for the Keychain's internet passwords where kr is
// built without cgo: zalando/go-keyring, kr's Keychain then, reaches only
// generic passwords.
type noKeychain struct{}

var errNoInternetPasswords = fmt.Errorf("git's Keychain items (those of git-credential-osxkeychain) need a kr built with cgo; this one is not: %w", backends.ErrUnsupported)

func (noKeychain) find(keychainItem) ([]keychainItem, error) { return nil, errNoInternetPasswords }
func (noKeychain) read(keychainItem) (keychainItem, error) {
	return keychainItem{}, errNoInternetPasswords
}
func (noKeychain) put(keychainItem) error    { return errNoInternetPasswords }
func (noKeychain) remove(keychainItem) error { return errNoInternetPasswords }
