package filevault

// Device bindings: a second wrapping of an identity, beside identity.age
// and recovery.age, that something of this device opens instead of the
// passphrase (a key in the OS store, a key sealed to the TPM, a key only an
// age plugin's token unwraps). The passphrase and the recovery code are
// never touched: a binding adds a way in, and removing it takes only that
// way away.
//
//	bind-KIND.age   the identity, wrapped by scrypt under a random 256-bit
//	                key (the binding key), in identity.age's format
//	bind-KIND.key   what the device needs to give the binding key back, if
//	                anything (the TPM's sealed object, the key encrypted to
//	                an age plugin); the OS store keeps its key itself
//
// The binding key is wrapped with scrypt, not with an X25519 recipient,
// so that the agent unlocks a binding exactly as it unlocks identity.age
// (a wrapped file and a passphrase: the agent needs no new code and never
// learns which device gave the key). The key is 256 random bits, so the
// stretching adds nothing: the work factor is the least scrypt takes, and
// a bound unlock costs no scrypt time.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/wait"
)

// BindingKinds are the kinds of binding, in the order kr tries them: the
// cheapest first, the one that may ask for a touch or a PIN last.
var BindingKinds = []string{"os", "tpm", "plugin"}

// bindingWorkFactor is scrypt's log2 N for a binding key: the least age
// accepts, since the key is random (see above).
const bindingWorkFactor = 1

// ErrNoBinding means the identity has no binding of that kind.
var ErrNoBinding = errors.New("no such binding")

// IdentityHome is a directory that holds one wrapped identity: the
// personal identity's directory, or a single-user vault's.
type IdentityHome struct {
	Dir string
	// Recipient is the identity's public key (age1...).
	Recipient string
}

func (h IdentityHome) path(name string) string { return filepath.Join(h.Dir, name) }

func bindingFile(kind string) string { return "bind-" + kind + ".age" }
func keeperFile(kind string) string  { return "bind-" + kind + ".key" }

func checkKind(kind string) error {
	for _, k := range BindingKinds {
		if k == kind {
			return nil
		}
	}
	return fmt.Errorf("unknown binding %q (one of %s)", kind, strings.Join(BindingKinds, ", "))
}

// Home is the personal identity's IdentityHome, ErrNoIdentity when there
// is none.
func (p *Personal) Home() (IdentityHome, error) {
	pub, err := p.Recipient()
	if err != nil {
		return IdentityHome{}, err
	}
	return IdentityHome{Dir: p.Dir, Recipient: pub}, nil
}

// Home is the vault's own identity's IdentityHome; ok is false for a
// shared vault, which has none (its members read it with theirs).
func (v *Vault) Home() (h IdentityHome, ok bool, err error) {
	m, err := v.manifest()
	if err != nil || m.Identity == "" {
		return IdentityHome{}, false, err
	}
	return IdentityHome{Dir: v.opts.Dir, Recipient: m.Identity}, true, nil
}

// UnlockHome is where the identity that opens v lives, with its
// bindings: the vault's own, or for a shared vault the personal identity
// its member reads it with. Dir is "" when there is none.
func (v *Vault) UnlockHome() (IdentityHome, error) {
	m, err := v.manifest()
	if err != nil {
		return IdentityHome{}, err
	}
	id, err := v.idOf(m)
	if err != nil {
		return IdentityHome{}, err
	}
	p := v.identityPathOf(m)
	if p == "" {
		return IdentityHome{}, nil
	}
	return IdentityHome{Dir: filepath.Dir(p), Recipient: id}, nil
}

// Home is where the identity that opens s lives, with its bindings; Dir
// is "" when there is no identity of the user's for s.
func (s Sealed) Home() IdentityHome {
	if s.identityPath == "" || s.Recipient == "" {
		return IdentityHome{}
	}
	return IdentityHome{Dir: filepath.Dir(s.identityPath), Recipient: s.Recipient}
}

// Bindings lists the kinds bound, in BindingKinds' order.
func (h IdentityHome) Bindings() ([]string, error) {
	var kinds []string
	for _, k := range BindingKinds {
		_, err := os.Lstat(h.path(bindingFile(k)))
		if err == nil {
			kinds = append(kinds, k)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return kinds, nil
}

// NewBindingKey returns a random binding key, in the text form scrypt
// takes as a passphrase.
func NewBindingKey() ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	key := make([]byte, base64.RawURLEncoding.EncodedLen(len(raw)))
	base64.RawURLEncoding.Encode(key, raw)
	clear(raw)
	return key, nil
}

// Bind opens identity.age with passphrase, or recovery.age when what was
// given is the recovery code, and writes bind-KIND.age, the same identity
// wrapped under key, with keeper (nil for none) as bind-KIND.key. A
// binding of that kind already there is replaced.
func (h IdentityHome) Bind(ctx context.Context, kind string, passphrase, key, keeper []byte) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	if len(key) == 0 {
		return errors.New("empty binding key")
	}
	unlock, err := h.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	wrapped, err := readFileChecked(h.path(identityFile), maxSmallFile)
	if err != nil {
		return err
	}
	_, plain, err := unwrapIdentity(h.path(identityFile), wrapped, passphrase, h.Recipient)
	if errors.Is(err, ErrBadPassphrase) && looksLikeRecoveryCode(string(passphrase)) {
		// The way back when the passphrase is lost opens a binding too.
		if rec, rerr := readFileChecked(h.path(recoveryFile), maxSmallFile); rerr == nil {
			code := []byte(normalizeRecoveryCode(string(passphrase)))
			var rplain []byte
			if _, rplain, rerr = unwrapIdentity(h.path(recoveryFile), rec, code, h.Recipient); rerr == nil {
				plain, err = rplain, nil
			}
			clear(code)
		}
	}
	if err != nil {
		return err
	}
	defer clear(plain)
	bound, err := wrapWith(plain, key, bindingWorkFactor)
	if err != nil {
		return err
	}
	if keeper != nil {
		if err := writeAtomic(h.path(keeperFile(kind)), keeper); err != nil {
			return err
		}
	} else if err := removeIfThere(h.path(keeperFile(kind))); err != nil {
		return err
	}
	// The wrapped identity last: its presence is what makes the binding.
	return writeAtomic(h.path(bindingFile(kind)), bound)
}

// BindingFile returns bind-KIND.age as stored: what the agent unlocks
// with the binding key.
func (h IdentityHome) BindingFile(kind string) ([]byte, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	b, err := readFileChecked(h.path(bindingFile(kind)), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNoBinding, kind, h.Dir)
	}
	return b, err
}

// Keeper returns bind-KIND.key, nil when the binding has none.
func (h IdentityHome) Keeper(kind string) ([]byte, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	b, err := readFileChecked(h.path(keeperFile(kind)), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// OpenBinding unwraps bind-KIND.age with the binding key, for reading in
// this process.
func (h IdentityHome) OpenBinding(kind string, key []byte) (*KeyDecrypter, error) {
	wrapped, err := h.BindingFile(kind)
	if err != nil {
		return nil, err
	}
	id, plain, err := unwrapIdentity(h.path(bindingFile(kind)), wrapped, key, h.Recipient)
	if err != nil {
		if errors.Is(err, ErrBadPassphrase) {
			return nil, &IdentityError{Source: h.path(bindingFile(kind)), Err: errors.New("the key the device gave does not open it")}
		}
		return nil, err
	}
	clear(plain)
	return &KeyDecrypter{Identities: []age.Identity{id}, Source: h.path(bindingFile(kind))}, nil
}

// Unbind removes bind-KIND.age and bind-KIND.key; ErrNoBinding when
// neither was there.
func (h IdentityHome) Unbind(ctx context.Context, kind string) error {
	if err := checkKind(kind); err != nil {
		return err
	}
	unlock, err := h.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, errA := os.Lstat(h.path(bindingFile(kind)))
	_, errK := os.Lstat(h.path(keeperFile(kind)))
	if errors.Is(errA, fs.ErrNotExist) && errors.Is(errK, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s in %s", ErrNoBinding, kind, h.Dir)
	}
	// The wrapped identity first: a binding without its keeper is no
	// binding, one without its wrapped identity is nothing at all.
	if err := removeIfThere(h.path(bindingFile(kind))); err != nil {
		return err
	}
	return removeIfThere(h.path(keeperFile(kind)))
}

func removeIfThere(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (h IdentityHome) lock(ctx context.Context) (func(), error) {
	if err := checkDir(h.Dir); err != nil {
		return nil, err
	}
	lctx, end := wait.Bound(ctx, "another kr held the identity's lock")
	l, err := filelock.Lock(lctx, h.path(lockFile))
	if err = end(err); err != nil {
		return nil, fmt.Errorf("lock %s: %w", h.Dir, err)
	}
	return l.Unlock, nil
}

// lastUnlockFile records how the identity was last opened in a kr
// process ("os", "tpm", "plugin", "passphrase"), for `kr identity status`.
const lastUnlockFile = "bind-last"

// NoteUnlock records how the identity was opened, writing only when that
// changed: the usual read costs one small file read. Failure to record is
// no failure of the read, so it is not reported.
func (h IdentityHome) NoteUnlock(how string) {
	if h.Dir == "" {
		return
	}
	if b, err := readFileChecked(h.path(lastUnlockFile), 64); err == nil && strings.TrimSpace(string(b)) == how {
		return
	}
	_ = writeAtomic(h.path(lastUnlockFile), []byte(how+"\n"))
}

// LastUnlock says how the identity was last opened by a kr process that
// recorded it, and since when it has been opened that way; "" when none
// did.
func (h IdentityHome) LastUnlock() (how string, since time.Time) {
	f, err := openChecked(h.path(lastUnlockFile))
	if err != nil {
		return "", time.Time{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", time.Time{}
	}
	b := make([]byte, 64)
	n, _ := f.Read(b)
	return strings.TrimSpace(string(b[:n])), fi.ModTime()
}
