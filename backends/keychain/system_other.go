//go:build !darwin

package keychain

import "github.com/kr-keyring/kr/backends"

func system() (itemStore, error) {
	return nil, backends.ErrUnsupported
}
