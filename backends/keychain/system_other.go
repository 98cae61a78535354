//go:build !darwin

package keychain

import (
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

func system() (itemStore, error) {
	return nil, fmt.Errorf("keychain: %w", backends.ErrUnsupported)
}
