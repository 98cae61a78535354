package filevault

import (
	"errors"
	"fmt"
	"io/fs"
)

// CheckPassphrase reports whether passphrase opens identity.age: nil, an
// error matching ErrBadPassphrase, or why it could not be told. It writes
// nothing, so a command can check the passphrase before it asks for
// anything else (kr passwd: before the new passphrase is typed twice).
func (v *Vault) CheckPassphrase(passphrase []byte) error {
	return v.check(identityFile, passphrase)
}

// CheckRecoveryCode is CheckPassphrase for the recovery code and
// recovery.age.
func (v *Vault) CheckRecoveryCode(code string) error {
	err := v.check(recoveryFile, []byte(normalizeRecoveryCode(code)))
	if errors.Is(err, ErrBadPassphrase) {
		return fmt.Errorf("%w: the recovery code does not open %s", ErrBadPassphrase, recoveryFile)
	}
	return err
}

func (v *Vault) check(from string, key []byte) error {
	m, err := v.manifest()
	if err != nil {
		return err
	}
	if m.Identity == "" {
		return errSharedNoPassphrase
	}
	wrapped, err := readFileChecked(v.path(from), maxSmallFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is missing from %s", from, v.opts.Dir)
		}
		return err
	}
	_, plain, err := unwrapIdentity(v.path(from), wrapped, key, m.Identity)
	clear(plain)
	return err
}
