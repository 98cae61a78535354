//go:build !windows

package dpapi

import "github.com/kr-keyring/kr/backends"

func system(dir string) (credStore, sealer, string, error) {
	return nil, nil, "", backends.ErrUnsupported
}
