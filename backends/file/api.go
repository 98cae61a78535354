// Package file is kr's age-encrypted vault: a directory that works on every
// OS and that the standard age tool can always recover.
//
// STUB: the exported API below is the contract with internal/cli and agent/;
// the bodies are to be written.
package file

import (
	"context"
	"errors"

	"github.com/kr-keyring/kr/backends"
)

// ErrNoVault means the directory holds no vault (no vault.json) yet.
var ErrNoVault = errors.New("no vault here")

// ErrBadPassphrase means the passphrase or recovery code does not open the identity.
var ErrBadPassphrase = errors.New("wrong passphrase")

// Decrypter decrypts an age file encrypted to a vault's recipients. The
// default one unwraps identity.age with a passphrase; the agent's client is
// another.
type Decrypter interface {
	Decrypt(ctx context.Context, v *Vault, ciphertext []byte) ([]byte, error)
}

// Options configures Open.
type Options struct {
	Dir string
	// Decrypter reads secrets. Nil means Get fails with backends.ErrLocked.
	Decrypter Decrypter
	// Create, when non-nil, is called on the first write to a missing vault:
	// it returns the new passphrase; the recovery code is passed to
	// ShowRecovery. Nil means a missing vault is an error wrapping ErrNoVault.
	Create func(ctx context.Context) (passphrase []byte, err error)
	// ShowRecovery receives the recovery code of a vault created by Set.
	ShowRecovery func(code string)
	// ScryptWorkFactor is log2 of scrypt's N for new wrappings; 0 means 18.
	ScryptWorkFactor int
}

// Vault is an open vault directory. It implements backends.Backend.
type Vault struct{ opts Options }

var _ backends.Backend = (*Vault)(nil)

func Open(opts Options) (*Vault, error)                                      { return &Vault{opts: opts}, nil }
func (v *Vault) Name() string                                                { return backends.File }
func (v *Vault) Dir() string                                                 { return v.opts.Dir }
func (v *Vault) Exists() bool                                                { return false }
func (v *Vault) ID() (string, error)                                         { return "", ErrNoVault }
func (v *Vault) IdentityFile() ([]byte, error)                               { return nil, ErrNoVault }
func (v *Vault) Recipients() ([]string, error)                               { return nil, ErrNoVault }
func (v *Vault) Init(ctx context.Context, passphrase []byte) (string, error) { return "", ErrNoVault }
func (v *Vault) Passwd(ctx context.Context, old, new []byte) error           { return ErrNoVault }
func (v *Vault) Recover(ctx context.Context, code string, new []byte) error  { return ErrNoVault }
func (v *Vault) AddRecipient(ctx context.Context, recipient string) error    { return ErrNoVault }
func (v *Vault) Get(ctx context.Context, name string) ([]byte, error)        { return nil, ErrNoVault }
func (v *Vault) Set(ctx context.Context, name string, value []byte) error    { return ErrNoVault }
func (v *Vault) Delete(ctx context.Context, name string) error               { return ErrNoVault }
func (v *Vault) List(ctx context.Context, prefix string) ([]string, error)   { return nil, ErrNoVault }

// PassphraseDecrypter unwraps the vault's identity.age with a passphrase,
// asked at most once per process, and keeps the identity for the process's
// lifetime.
type PassphraseDecrypter struct {
	Passphrase func(ctx context.Context) ([]byte, error)
}

func (d *PassphraseDecrypter) Decrypt(ctx context.Context, v *Vault, ciphertext []byte) ([]byte, error) {
	return nil, backends.ErrLocked
}
