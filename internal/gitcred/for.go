package gitcred

import (
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// For returns the layout git's own helper uses in b's store: the items of
// git-credential-libsecret on the Secret Service, Git Credential Manager's
// targets in Credential Manager (kr's dpapi store; git-credential-wincred's
// are read too), git-credential-osxkeychain's internet passwords in the
// Keychain, else kr's names under NamePrefix (the file vault). The git/
// names kr wrote in Credential Manager or the Keychain before it spoke
// their layouts are not read.
func For(b backends.Backend) Store {
	if ss, ok := backends.As[*secretservice.Backend](b); ok {
		return SecretService{SS: ss}
	}
	switch b.Name() {
	case backends.DPAPI:
		return WinCred{}
	case backends.Keychain:
		return Keychain{}
	}
	return Named{B: b}
}
