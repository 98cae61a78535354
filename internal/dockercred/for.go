package dockercred

import (
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// For returns the layout docker's own helper uses in b's store: the
// io.docker.Credentials items of docker-credential-secretservice, the
// Credential Manager's and the Keychain's items as docker-credential-wincred
// and docker-credential-osxkeychain write them (no kr service in any of
// them: docker's layouts have none), else kr's names under NamePrefix.
func For(b backends.Backend) Store {
	if ss, ok := backends.As[*secretservice.Backend](b); ok {
		return SecretServiceStore{SS: ss}
	}
	switch b.Name() {
	case backends.DPAPI:
		return WinCredStore{}
	case backends.Keychain:
		return KeychainStore{}
	}
	return NamedStore{B: b}
}
