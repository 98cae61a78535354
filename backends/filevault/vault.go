// Package filevault is kr's age-encrypted vault, the backend named "file": a
// directory that works on every OS, needs no daemon, and that the standard
// age tool can always recover.
//
//	vault.json          format version and the public recipients (age1...)
//	identity.age        the vault's X25519 identity, encrypted to the passphrase
//	recovery.age        the same identity, encrypted to the recovery code
//	secrets/NAME.age    each value, encrypted to the recipients; the plaintext
//	                    starts with "kr-secret/v1 NAME\n", binding it to its name
//
// How each file reads and is written (versions, limits, parsers, name
// escaping) is package format's; this package opens, checks, locks,
// encrypts and replaces them. The files by role: vault.go (opening,
// vault.json, creating), secrets.go (Get, Set, SetMany, Delete, List),
// members.go (adding and removing members), scope.go (scopes),
// accepted.go (which keys the local user accepted), reencrypt.go (sealing
// files to their sets, all or none), reconcile.go (after a sync), merge.go
// (what git cannot merge), identity.go and personal.go (identities).
//
// Writing needs no passphrase (public-key encryption); reading goes through
// a Decrypter. Writers are serialised by a lock file and every file is
// replaced atomically, so a crash leaves the old or the new value.
//
// A vault may be shared (a git repository), so nothing in it is taken on
// its word: writes encrypt only to recipients the local user accepted
// (Options.Accepted, kept outside the vault), and every folder and file on
// the way to a value must be a real one, the user's own, that nobody else
// can write.
package filevault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/limitio"
)

// ErrNoVault means the directory holds no vault (no vault.json) yet.
var ErrNoVault = errors.New("there is no vault")

// ErrBadPassphrase means the passphrase or recovery code does not open the identity.
var ErrBadPassphrase = errors.New("wrong passphrase")

// Decrypter decrypts an age file encrypted to a vault's recipients. The
// default one unwraps identity.age with a passphrase; the agent's client is
// another. It gets what it needs as a value and never calls back into the
// Vault.
type Decrypter interface {
	Decrypt(ctx context.Context, s Sealed) ([]byte, error)
}

// Sealed is one secret file as a Decrypter needs it: the ciphertext, the
// vault's recipient (age1...: how the agent knows the vault's key) and the
// wrapped identity, read only if a passphrase must unwrap it here.
type Sealed struct {
	Ciphertext []byte
	Recipient  string
	// Name is the secret's name, "" when the file is no secret (the
	// challenge that proves a key): with Vault and Personal, what a
	// passphrase prompt says it unlocks.
	Name string
	// Vault is the vault's directory.
	Vault string
	// Personal says the identity that reads it is the user's own (a
	// shared vault), not the vault's identity.age.
	Personal bool
	identity func() ([]byte, error)
	// identityPath is the identity file's path, for errors about it.
	identityPath string
}

// sealed is the Sealed of the vault.json m, without its ciphertext. idErr
// is why there is no identity of ours for it (a shared vault with no
// personal identity among its members); a Decrypter holding its own keys
// (KR_IDENTITY) may still read it.
func (v *Vault) sealed(m *format.Manifest) (s Sealed, idErr error) {
	s = Sealed{Vault: v.opts.Dir, Personal: m.Identity == "", identity: func() ([]byte, error) { return v.identityFileOf(m) }, identityPath: v.identityPathOf(m)}
	if s.Recipient, idErr = v.idOf(m); idErr != nil {
		s.identity = func() ([]byte, error) { return nil, idErr }
	}
	return s, idErr
}

// IdentityFile returns the vault's identity.age as stored.
func (s Sealed) IdentityFile() ([]byte, error) {
	if s.identity == nil {
		return nil, errors.New("no identity file given")
	}
	return s.identity()
}

// Options configures Open.
type Options struct {
	Dir string
	// Decrypter reads secrets. Nil means Get fails with backends.ErrLocked.
	Decrypter Decrypter
	// Create, when non-nil, is called on the first write to a missing vault
	// for the new passphrase; the recovery code goes to ShowRecovery. Nil
	// means writing to a missing vault fails with ErrNoVault.
	Create func(ctx context.Context) (passphrase []byte, err error)
	// ShowRecovery receives the recovery code of a vault created by Set.
	ShowRecovery func(code string)
	// ScryptWorkFactor is log2 of scrypt's N for new wrappings; 0 means 18.
	ScryptWorkFactor int
	// Named means the user named Dir (--vault, KR_VAULT): reading a
	// directory that holds no vault is then an error, a likely typo, where
	// the default vault not created yet is a quiet empty store.
	Named bool
	// Accepted records the recipients the local user agreed to encrypt
	// to; writes stop while vault.json lists another. Nil means a record
	// kept in memory for this Vault only.
	Accepted AcceptedRecipients
	// AcceptAlso lists keys accepted for this Vault without a record, for
	// the vault and every scope: the identities the user reads with besides
	// Personal (KR_IDENTITY), and the keys a CI job names (KR_ACCEPT).
	AcceptAlso func() ([]string, error)
	// Personal is the user's own identity, which reads shared vaults
	// (version 2: no identity inside). Nil: shared vaults read only
	// through a Decrypter that holds its own keys.
	Personal *Personal
	// State keeps what this clone has seen of a signed vault (the highest
	// epoch and counters), outside the vault. Nil means a record kept in
	// memory for this Vault only.
	State StateStore
}

// Vault is a vault directory. It implements backends.Backend.
type Vault struct {
	opts Options

	mu sync.Mutex
	id string // the vault's own recipient, once read: it never changes
	// merged are the recipient files a sync's merge wrote (Resolver.Merge),
	// unsigned: reconcile signs them (vault.json: "", a scope: its
	// directory).
	merged map[string]bool
}

var _ backends.Backend = (*Vault)(nil)

// The vault's layout, versions and limits are the format package's.
const (
	manifestFile  = format.ManifestFile
	identityFile  = format.IdentityFile
	recoveryFile  = format.RecoveryFile
	secretsDir    = format.SecretsDir
	lockFile      = format.LockFile
	secretExt     = format.SecretExt
	scopeFile     = format.ScopeFile
	maxCiphertext = format.MaxCiphertext
	maxSmallFile  = format.MaxSmallFile
)

// Open returns the vault in opts.Dir. It creates nothing: a missing vault
// is created by Init or by the first Set.
func Open(opts Options) (*Vault, error) {
	if opts.Dir == "" {
		return nil, errors.New("vault directory not set")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if opts.ScryptWorkFactor == 0 {
		opts.ScryptWorkFactor = format.DefaultScryptWorkFactor
	}
	if opts.Accepted == nil {
		opts.Accepted = &memoryRecord{}
	}
	if opts.State == nil {
		opts.State = &memoryState{}
	}
	return &Vault{opts: opts}, nil
}

func (v *Vault) Name() string { return backends.File }

// Dir is the vault's directory.
func (v *Vault) Dir() string { return v.opts.Dir }

func (v *Vault) path(elem ...string) string {
	return filepath.Join(append([]string{v.opts.Dir}, elem...)...)
}

// Exists reports whether the directory holds a vault.
func (v *Vault) Exists() bool {
	_, err := os.Stat(v.path(manifestFile))
	return err == nil
}

// ValidMemberName checks a member's name: 1 to 64 of A-Z a-z 0-9 . _ - @,
// not starting with . or -.
func ValidMemberName(name string) error { return format.ValidMemberName(name) }

func (v *Vault) manifest() (*format.Manifest, error) {
	if err := checkDir(v.opts.Dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s", ErrNoVault, v.opts.Dir)
		}
		return nil, err
	}
	b, err := readFileChecked(v.path(manifestFile), maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoVault, v.opts.Dir)
	}
	if err != nil {
		return nil, err
	}
	// The identity files are read only to unlock, but a foreign or
	// writable one means someone else has been in the vault: stop there.
	for _, f := range []string{identityFile, recoveryFile} {
		if err := checkFile(v.path(f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	m, err := format.ParseManifest(b)
	if err == nil && m.Identity != "" {
		v.mu.Lock()
		v.id = m.Identity
		v.mu.Unlock()
	}
	if err == nil && m.Shared() && !m.Signed() {
		// A clone that has seen the vault signed takes no unsigned
		// vault.json: that would undo every check on the word of whoever
		// pushed it.
		st, serr := v.opts.State.Load(v.opts.Dir)
		if serr != nil {
			return nil, serr
		}
		if st.VaultID != "" {
			return nil, v.refused(v.path(manifestFile), "it is not signed (version %d), and this clone has seen the vault signed (vault %s, epoch %d)", m.Version, st.VaultID, st.Epoch)
		}
	}
	return m, err
}

// ID is the recipient (age1...) whose key reads the vault, what the agent
// keys it by: the vault's own, or for a shared vault the user's personal
// identity, which must be among its recipients. It is read once per
// Vault: passwd, recover and new recipients keep it.
func (v *Vault) ID() (string, error) {
	v.mu.Lock()
	id := v.id
	v.mu.Unlock()
	if id != "" {
		return id, nil
	}
	m, err := v.manifest()
	if err != nil {
		return "", err
	}
	return v.idOf(m)
}

// idOf is ID for the vault.json m.
func (v *Vault) idOf(m *format.Manifest) (string, error) {
	if m.Identity != "" {
		return m.Identity, nil
	}
	return v.personalID(m)
}

// Shared reports whether the vault holds no identity of its own.
func (v *Vault) Shared() (bool, error) {
	m, err := v.manifest()
	if err != nil {
		return false, err
	}
	return m.Identity == "", nil
}

func (v *Vault) personalID(m *format.Manifest) (string, error) {
	if v.opts.Personal == nil {
		return "", fmt.Errorf("%w: this vault is read with your identity, and there is none", ErrNoIdentity)
	}
	pub, err := v.opts.Personal.Recipient()
	if err != nil {
		return "", err
	}
	if !slices.Contains(m.Recipients, pub) {
		return "", fmt.Errorf("%w: your identity %s is not among the recipients of %s", ErrWrongIdentity, pub, v.opts.Dir)
	}
	return pub, nil
}

// Recipients lists who the secrets are encrypted to.
func (v *Vault) Recipients() ([]string, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	return m.Recipients, nil
}

// IdentityFile returns identity.age as stored: the vault's, or for a
// shared vault the user's personal one.
func (v *Vault) IdentityFile() ([]byte, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	return v.identityFileOf(m)
}

// identityPathOf is where identityFileOf reads, "" when nowhere.
func (v *Vault) identityPathOf(m *format.Manifest) string {
	if m.Identity != "" {
		return v.path(identityFile)
	}
	if v.opts.Personal != nil {
		return v.opts.Personal.path(identityFile)
	}
	return ""
}

// identityFileOf is IdentityFile for the vault.json m.
func (v *Vault) identityFileOf(m *format.Manifest) ([]byte, error) {
	if m.Identity == "" {
		if _, err := v.personalID(m); err != nil {
			return nil, err
		}
		return v.opts.Personal.IdentityFile()
	}
	return readFileChecked(v.path(identityFile), maxSmallFile)
}

// InitShared creates a signed shared vault (version 3: recipients and
// secrets, no identity) whose only recipient is pub, the member called
// name, recorded as accepted. The founder signs their own entry, so the
// Decrypter must be able to sign as pub (see Signer).
func (v *Vault) InitShared(ctx context.Context, name, pub string) error {
	if _, err := age.ParseX25519Recipient(pub); err != nil {
		return fmt.Errorf("recipient %q: %w", pub, err)
	}
	if err := ValidMemberName(name); err != nil {
		return err
	}
	if err := makeDir(v.opts.Dir); err != nil {
		return err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if v.Exists() {
		return fmt.Errorf("a vault already exists in %s", v.opts.Dir)
	}
	if err := v.opts.Accepted.Accept(v.opts.Dir, pub); err != nil {
		return err
	}
	id, err := newVaultID()
	if err != nil {
		return err
	}
	m := format.NewShared(name, pub)
	m.Version, m.VaultID, m.Epoch = format.SignedVersion, id, 1
	w, err := v.signer(ctx, m)
	if err != nil {
		return err
	}
	if w.key != pub {
		return fmt.Errorf("%w: the founder %s is not the key that signs (%s)", ErrWrongIdentity, pub, w.key)
	}
	if err := m.SignEntry(pub, pub, w.sign); err != nil {
		return err
	}
	if err := m.SignList(pub, w.sign); err != nil {
		return err
	}
	if err := v.makeDirs(v.path(secretsDir)); err != nil {
		return err
	}
	// vault.json last: its presence is what makes the vault exist.
	return writeManifest(v.path(manifestFile), m)
}

// Init creates the vault with passphrase and returns its recovery code.
func (v *Vault) Init(ctx context.Context, passphrase []byte) (string, error) {
	if err := makeDir(v.opts.Dir); err != nil {
		return "", err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()
	return v.initLocked(passphrase)
}

func (v *Vault) initLocked(passphrase []byte) (string, error) {
	if len(passphrase) == 0 {
		return "", errors.New("empty passphrase refused")
	}
	if v.Exists() {
		return "", fmt.Errorf("a vault already exists in %s", v.opts.Dir)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	pub := id.Recipient().String()
	// Recorded before the vault exists: a failure leaves no vault, and a
	// vault left half-made names a recipient already accepted.
	if err := v.opts.Accepted.Accept(v.opts.Dir, pub); err != nil {
		return "", err
	}
	plain := []byte(fmt.Sprintf("# kr vault identity, created %s\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), pub, id))
	defer clear(plain)
	code, err := newRecoveryCode()
	if err != nil {
		return "", err
	}
	wrapped, err := v.wrap(plain, passphrase)
	if err != nil {
		return "", err
	}
	recovery, err := v.wrap(plain, []byte(code))
	if err != nil {
		return "", err
	}
	if err := v.makeDirs(v.path(secretsDir)); err != nil {
		return "", err
	}
	if err := writeAtomic(v.path(identityFile), wrapped); err != nil {
		return "", err
	}
	if err := writeAtomic(v.path(recoveryFile), recovery); err != nil {
		return "", err
	}
	// vault.json last: its presence is what makes the vault exist.
	if err := writeManifest(v.path(manifestFile), format.NewPersonal(pub)); err != nil {
		return "", err
	}
	return code, nil
}

// wrap encrypts plain to a scrypt recipient (a passphrase or recovery code).
func (v *Vault) wrap(plain, passphrase []byte) ([]byte, error) {
	return wrapWith(plain, passphrase, v.opts.ScryptWorkFactor)
}

func wrapWith(plain, passphrase []byte, workFactor int) ([]byte, error) {
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(workFactor)
	return encrypt(plain, r)
}

func encrypt(plain []byte, rs ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decryptLimited decrypts an age file, refusing plaintexts over limit.
func decryptLimited(ciphertext []byte, limit int64, ids ...age.Identity) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(ciphertext), ids...)
	if err != nil {
		return nil, err
	}
	return limitio.Read(r, "plaintext", limit)
}

// DefaultDir is where the vault lives without --vault or KR_VAULT.
func DefaultDir() (string, error) { return defaultDir() }

func xdgDataDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kr", "vault"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "kr", "vault"), nil
}

// rel is a path for messages: relative to the vault when inside it.
func (v *Vault) rel(p string) string {
	if r, err := filepath.Rel(v.opts.Dir, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
