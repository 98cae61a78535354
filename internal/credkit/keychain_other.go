//go:build !darwin || !cgo

package credkit

import (
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

func systemKeychain() Keychain { return noKeychain{} }

// noKeychain stands in for the Keychain's internet passwords where kr is
// built without cgo.
type noKeychain struct{}

// ErrNoInternetPasswords is every noKeychain answer.
var errNoInternetPasswords = fmt.Errorf("the Keychain's internet passwords (those of git's and docker's helpers) need a kr built with cgo; this one is not: %w", backends.ErrUnsupported)

func (noKeychain) Find(InternetPassword) ([]InternetPassword, error) {
	return nil, errNoInternetPasswords
}
func (noKeychain) Read(InternetPassword) (InternetPassword, error) {
	return InternetPassword{}, errNoInternetPasswords
}
func (noKeychain) Add(InternetPassword) error            { return errNoInternetPasswords }
func (noKeychain) Update(InternetPassword, []byte) error { return errNoInternetPasswords }
func (noKeychain) Delete(InternetPassword) error         { return errNoInternetPasswords }
