//go:build !windows

package credkit

import "github.com/kr-keyring/kr/backends"

func systemCredentialManager() CredentialManager { return noCredMan{} }

// noCredMan stands in for Credential Manager where there is none.
type noCredMan struct{}

func (noCredMan) List(string) ([]GenericCredential, error) { return nil, backends.ErrUnsupported }
func (noCredMan) Read(string) (GenericCredential, error) {
	return GenericCredential{}, backends.ErrUnsupported
}
func (noCredMan) Write(GenericCredential) error { return backends.ErrUnsupported }
func (noCredMan) Delete(string) error           { return backends.ErrUnsupported }
