//go:build !windows

package dpapi

import (
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

func system(dir string) (credStore, sealer, string, error) {
	return nil, nil, "", fmt.Errorf("credential manager: %w", backends.ErrUnsupported)
}
