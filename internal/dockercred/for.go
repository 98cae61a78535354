package dockercred

import (
	"github.com/kr-keyring/kr/backends"
)

// For returns the layout docker's own helper uses in b's store: the
// Credential Manager's and the Keychain's items as docker-credential-wincred
// and docker-credential-osxkeychain write them (no service: docker's
// layout has none), else kr's names under NamePrefix.
func For(b backends.Backend) Store {
	switch backends.Unwrap(b).Name() {
	case backends.DPAPI:
		return WinCredStore{}
	case backends.Keychain:
		return KeychainStore{}
	}
	return NamedStore{B: b}
}
