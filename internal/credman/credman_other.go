//go:build !windows

package credman

import "github.com/kr-keyring/kr/backends"

// System returns this user's Credential Manager: none here.
func System() API { return none{} }

type none struct{}

func (none) List(string) ([]Cred, error) { return nil, backends.ErrUnsupported }
func (none) Read(string) (Cred, error)   { return Cred{}, backends.ErrUnsupported }
func (none) Write(Cred) error            { return backends.ErrUnsupported }
func (none) Remove(string) error         { return backends.ErrUnsupported }
