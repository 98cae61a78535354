package filevault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/wait"
)

// ErrNoIdentity means the personal identity has not been created yet.
var ErrNoIdentity = errors.New("you have no identity yet")

// Personal is a person's own identity, kept on their machine apart from
// any vault: a shared vault (vault.json version 2) holds no identity, and
// each member reads it with theirs.
//
//	identity.age    the X25519 identity, encrypted to the passphrase
//	recovery.age    the same identity, encrypted to the recovery code
//	recipient.txt   its public key (age1...), readable without unlocking
//
// identity.age has the format of a vault's, so the agent unlocks either
// the same way and keys both by their recipient.
type Personal struct {
	Dir string
	// ScryptWorkFactor is log2 of scrypt's N for new wrappings; 0 means 18.
	ScryptWorkFactor int
}

const recipientFile = "recipient.txt"

// DefaultPersonalDir is where the personal identity lives: next to the
// default vault, in kr's data directory.
func DefaultPersonalDir() (string, error) {
	d, err := defaultDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(d), "identity"), nil
}

func (p *Personal) path(name string) string { return filepath.Join(p.Dir, name) }

// Recipient returns the identity's public key, ErrNoIdentity when there is
// none. Whoever could change recipient.txt could change identity.age too:
// the unwrap checks that both agree.
func (p *Personal) Recipient() (string, error) {
	if err := checkDir(p.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w (in %s)", ErrNoIdentity, p.Dir)
		}
		return "", err
	}
	b, err := readFileChecked(p.path(recipientFile), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w (in %s)", ErrNoIdentity, p.Dir)
	}
	if err != nil {
		return "", err
	}
	pub := string(bytes.TrimSpace(b))
	if _, err := age.ParseX25519Recipient(pub); err != nil {
		return "", fmt.Errorf("%s: %w", p.path(recipientFile), err)
	}
	return pub, nil
}

// IdentityFile returns identity.age as stored.
func (p *Personal) IdentityFile() ([]byte, error) {
	if err := checkDir(p.Dir); err != nil {
		return nil, err
	}
	return readFileChecked(p.path(identityFile), maxSmallFile)
}

// Create makes a new identity wrapped by passphrase and returns its public
// key and recovery code. It refuses to replace an identity.
func (p *Personal) Create(ctx context.Context, passphrase []byte) (pub, code string, err error) {
	if len(passphrase) == 0 {
		return "", "", errors.New("empty passphrase refused")
	}
	if err := makeDir(p.Dir); err != nil {
		return "", "", err
	}
	lctx, end := wait.Bound(ctx, "another kr held the identity's lock")
	l, err := filelock.Lock(lctx, p.path(lockFile))
	if err = end(err); err != nil {
		return "", "", fmt.Errorf("lock %s: %w", p.Dir, err)
	}
	defer l.Unlock()
	if _, err := p.Recipient(); !errors.Is(err, ErrNoIdentity) {
		if err == nil {
			return "", "", fmt.Errorf("an identity already exists in %s", p.Dir)
		}
		return "", "", err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	pub = id.Recipient().String()
	plain := []byte(fmt.Sprintf("# kr identity, created %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), pub, id))
	defer clear(plain)
	code, err = newRecoveryCode()
	if err != nil {
		return "", "", err
	}
	wf := p.ScryptWorkFactor
	if wf == 0 {
		wf = 18
	}
	wrapped, err := wrapWith(plain, passphrase, wf)
	if err != nil {
		return "", "", err
	}
	recovery, err := wrapWith(plain, []byte(code), wf)
	if err != nil {
		return "", "", err
	}
	if err := writeAtomic(p.path(identityFile), wrapped); err != nil {
		return "", "", err
	}
	if err := writeAtomic(p.path(recoveryFile), recovery); err != nil {
		return "", "", err
	}
	// recipient.txt last: its presence is what makes the identity exist.
	if err := writeAtomic(p.path(recipientFile), []byte(pub+"\n")); err != nil {
		return "", "", err
	}
	return pub, code, nil
}

// CheckRecoveryCode reports whether code opens recovery.age, so that a
// new passphrase is asked only after the code proved right.
func (p *Personal) CheckRecoveryCode(code string) error {
	h, err := p.Home()
	if err != nil {
		return err
	}
	_, plain, err := p.openRecovery(h, code)
	clear(plain)
	return err
}

// Recover opens recovery.age with the recovery code and writes identity.age
// for a new passphrase. The key is the same, so bindings and shared vaults
// keep working.
func (p *Personal) Recover(ctx context.Context, code string, newPass []byte) error {
	if len(newPass) == 0 {
		return errors.New("empty passphrase refused")
	}
	h, err := p.Home()
	if err != nil {
		return err
	}
	unlock, err := h.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, plain, err := p.openRecovery(h, code)
	if err != nil {
		return err
	}
	defer clear(plain)
	wf := p.ScryptWorkFactor
	if wf == 0 {
		wf = 18
	}
	wrapped, err := wrapWith(plain, newPass, wf)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeAtomic(p.path(identityFile), wrapped)
}

func (p *Personal) openRecovery(h IdentityHome, code string) (*age.X25519Identity, []byte, error) {
	wrapped, err := readFileChecked(p.path(recoveryFile), maxSmallFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s is missing from %s", recoveryFile, p.Dir)
		}
		return nil, nil, err
	}
	id, plain, err := unwrapIdentity(p.path(recoveryFile), wrapped, []byte(normalizeRecoveryCode(code)), h.Recipient)
	if errors.Is(err, ErrBadPassphrase) {
		return nil, nil, fmt.Errorf("%w: the recovery code does not open %s", ErrBadPassphrase, p.path(recoveryFile))
	}
	return id, plain, err
}
