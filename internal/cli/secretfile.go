package cli

import (
	"bytes"
	"fmt"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/limitio"
)

// maxSecretFile bounds KR_*_FILE passphrase and code files.
const maxSecretFile = 4096

// readSecretFile reads the file named by the variable env, for every
// KR_*_FILE that holds a passphrase or recovery code, with one rule:
// exactly one trailing "\n" or "\r\n" is dropped (what an editor or echo
// adds); every other byte is part of the secret. Three rules, as there
// were, let `kr passwd` store from a file a passphrase the same file then
// failed to open. ok is false when env is not set.
//
// A file that cannot be read or is empty leaves the vault locked: the
// error matches backends.ErrLocked, which the file vault reports as it is
// rather than as a damaged secret.
func (a *App) readSecretFile(env string) (b []byte, ok bool, err error) {
	path := a.Getenv(env)
	if path == "" {
		return nil, false, nil
	}
	b, err = limitio.ReadFile(path, maxSecretFile)
	if err != nil {
		return nil, true, &secretFileError{withHint(fmt.Errorf("read %s: %w", env, err),
			"point %s at a readable file holding only the secret", env)}
	}
	if bytes.HasSuffix(b, []byte("\r\n")) {
		b = b[:len(b)-2]
	} else if bytes.HasSuffix(b, []byte("\n")) {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return nil, true, &secretFileError{withHint(fmt.Errorf("%s %s is empty", env, path),
			"write the secret into %s (one trailing newline is dropped), or unset %s", path, env)}
	}
	return b, true, nil
}

// secretFileError reads as the error it holds and matches ErrLocked too.
type secretFileError struct{ err error }

func (e *secretFileError) Error() string   { return e.err.Error() }
func (e *secretFileError) Unwrap() []error { return []error{e.err, backends.ErrLocked} }
