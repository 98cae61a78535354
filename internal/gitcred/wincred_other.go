//go:build !windows

package gitcred

import "github.com/kr-keyring/kr/backends"

func systemWinCred() winCredAPI { return noWinCred{} }

// noWinCred stands in for Credential Manager where there is none.
type noWinCred struct{}

func (noWinCred) list(string) ([]winCred, error) { return nil, backends.ErrUnsupported }
func (noWinCred) read(string) (winCred, error)   { return winCred{}, backends.ErrUnsupported }
func (noWinCred) write(winCred) error            { return backends.ErrUnsupported }
func (noWinCred) remove(string) error            { return backends.ErrUnsupported }
