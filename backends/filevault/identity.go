package filevault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
)

// unwrapIdentity opens identity.age (or recovery.age) with a passphrase and
// returns the X25519 identity whose recipient is want.
//
// The agent opens the same identity.age another way, with its own code
// (agent/internal/agecrypto), because it keeps the key for hours and must
// never hold the passphrase or key in a Go string or a heap copy it cannot
// wipe. Here filippo.io/age is used on purpose: this is one short kr
// command that keeps the *age.X25519Identity returned for the rest of its
// life anyway (age holds that key in memory nobody wipes), so the string
// copy of the passphrase age takes outlives nothing; and Passwd and Recover
// need age's full parse of the file to write it again. Both ends read the
// same format: an age file with a scrypt stanza of work factor at most
// format.MaxScryptWorkFactor, the one cap both use, holding one
// AGE-SECRET-KEY-1 line. age also refuses a scrypt stanza that is not
// alone in the header; the agent instead refuses a key that is not the
// vault's.
//
// source is the file's path; every error but a wrong passphrase is an
// *IdentityError naming it.
func unwrapIdentity(source string, wrapped, passphrase []byte, want string) (*age.X25519Identity, []byte, error) {
	if source == "" {
		source = "the identity file"
	}
	sid, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, nil, err
	}
	sid.SetMaxWorkFactor(format.MaxScryptWorkFactor)
	plain, err := decryptLimited(wrapped, maxSmallFile, sid)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, nil, ErrBadPassphrase
		}
		return nil, nil, &IdentityError{Source: source, Err: fmt.Errorf("damaged or truncated: %w", err)}
	}
	ids, err := age.ParseIdentities(bytes.NewReader(plain))
	if err != nil {
		clear(plain)
		return nil, nil, &IdentityError{Source: source, Err: errors.New("damaged: it holds no age identity")}
	}
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok && x.Recipient().String() == want {
			return x, plain, nil
		}
	}
	clear(plain)
	return nil, nil, &IdentityError{Source: source, Err: fmt.Errorf("does not hold the vault's identity %s", want)}
}

// PassphraseDecrypter unwraps the vault's identity.age with a passphrase,
// asked at most once per process, and keeps the identity for the process's
// lifetime.
type PassphraseDecrypter struct {
	Passphrase func(ctx context.Context) ([]byte, error)

	mu  sync.Mutex
	ids map[string]*age.X25519Identity
}

func (d *PassphraseDecrypter) Decrypt(ctx context.Context, s Sealed) ([]byte, error) {
	id, err := d.identity(ctx, s)
	if err != nil {
		return nil, err
	}
	return decryptLimited(s.Ciphertext, maxCiphertext, id)
}

func (d *PassphraseDecrypter) identity(ctx context.Context, s Sealed) (*age.X25519Identity, error) {
	vid := s.Recipient
	d.mu.Lock()
	defer d.mu.Unlock()
	if id := d.ids[vid]; id != nil {
		return id, nil
	}
	wrapped, err := s.IdentityFile()
	if err != nil {
		return nil, err
	}
	if d.Passphrase == nil {
		return nil, fmt.Errorf("%w: no passphrase source", backends.ErrLocked)
	}
	pass, err := d.Passphrase(ctx)
	if err != nil {
		return nil, err
	}
	id, plain, err := unwrapIdentity(s.identityPath, wrapped, pass, vid)
	clear(pass)
	if err != nil {
		return nil, err
	}
	clear(plain)
	if d.ids == nil {
		d.ids = map[string]*age.X25519Identity{}
	}
	d.ids[vid] = id
	return id, nil
}

var errSharedNoPassphrase = errors.New("this vault is shared: it has no passphrase or recovery code of its own, its members read it with their identities")

// Passwd rewraps identity.age for a new passphrase. No secret is touched.
func (v *Vault) Passwd(ctx context.Context, old, newPass []byte) error {
	return v.rewrap(ctx, identityFile, old, newPass)
}

// Recover opens recovery.age with the recovery code and writes identity.age
// for a new passphrase.
func (v *Vault) Recover(ctx context.Context, code string, newPass []byte) error {
	return v.rewrap(ctx, recoveryFile, []byte(normalizeRecoveryCode(code)), newPass)
}

func (v *Vault) rewrap(ctx context.Context, from string, key, newPass []byte) error {
	if len(newPass) == 0 {
		return errors.New("empty passphrase refused")
	}
	m, err := v.manifest()
	if err != nil {
		return err
	}
	if m.Identity == "" {
		return errSharedNoPassphrase
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	wrapped, err := readFileChecked(v.path(from), maxSmallFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s is missing from %s", from, v.opts.Dir)
		}
		return err
	}
	_, plain, err := unwrapIdentity(v.path(from), wrapped, key, m.Identity)
	if err != nil {
		if errors.Is(err, ErrBadPassphrase) && from == recoveryFile {
			return fmt.Errorf("%w: the recovery code does not open %s", ErrBadPassphrase, recoveryFile)
		}
		return err
	}
	defer clear(plain)
	rewrapped, err := v.wrap(plain, newPass)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeAtomic(v.path(identityFile), rewrapped)
}

// Recovery codes: 30 characters of an alphabet without look-alikes (150
// bits), shown in groups of five. The dashed, upper-case form is the scrypt
// passphrase, so `age -d recovery.age` takes the code exactly as shown.
const recoveryAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newRecoveryCode() (string, error) {
	raw := make([]byte, 30)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(recoveryAlphabet[r%32]) // 256 is a multiple of 32: no bias
	}
	return b.String(), nil
}

// looksLikeRecoveryCode reports whether s has a recovery code's shape (30
// characters of its alphabet, in any case, dashes and spaces aside), so
// that a passphrase is tried on recovery.age only when it could be one.
func looksLikeRecoveryCode(s string) bool {
	n := normalizeRecoveryCode(s)
	if len(n) != 30+5 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] != '-' && !strings.ContainsRune(recoveryAlphabet, rune(n[i])) {
			return false
		}
	}
	return true
}

// normalizeRecoveryCode accepts the code in any case, with or without
// dashes and spaces.
func normalizeRecoveryCode(code string) string {
	var clean []byte
	for _, c := range []byte(strings.ToUpper(code)) {
		if c != '-' && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			clean = append(clean, c)
		}
	}
	var b strings.Builder
	for i, c := range clean {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(c)
	}
	return b.String()
}
