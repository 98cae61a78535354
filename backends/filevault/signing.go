package filevault

// A signed vault (vault.json version 3, see package format): every write
// is signed by a member and every read checks the signature, the writer's
// membership and the counter this clone last saw for the name, so
// repository write access alone can neither add a reader nor change or
// roll back a value unnoticed.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/internal/vaultstate"
	"github.com/kr-keyring/kr/internal/xeddsa"
)

// Signer is a Decrypter that can also sign as one of a vault's members:
// whatever holds the member's identity (this process, or the agent, which
// signs without handing it out).
type Signer interface {
	// SigningKey returns the member (one of members, age1...) it signs
	// as, ErrWrongIdentity when it holds none of theirs.
	SigningKey(ctx context.Context, s Sealed, members []string) (string, error)
	// Sign signs msg as key.
	Sign(ctx context.Context, s Sealed, key string, msg []byte) ([]byte, error)
}

// StateStore keeps what a clone has seen of a signed vault, outside the
// vault (vaultstate.Store, in kr's config directory).
type StateStore interface {
	Load(dir string) (*vaultstate.State, error)
	Update(dir string, change func(st *vaultstate.State) error) error
}

// memoryState stands in for a StateStore when Options gives none.
type memoryState struct {
	mu sync.Mutex
	m  map[string]*vaultstate.State
}

func (s *memoryState) Load(dir string) (*vaultstate.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[dir]
	if st == nil {
		return &vaultstate.State{Dir: dir, Counters: map[string]uint64{}}, nil
	}
	c := *st
	c.Counters = map[string]uint64{}
	for k, n := range st.Counters {
		c.Counters[k] = n
	}
	return &c, nil
}

func (s *memoryState) Update(dir string, change func(st *vaultstate.State) error) error {
	st, _ := s.Load(dir)
	if err := change(st); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*vaultstate.State{}
	}
	s.m[dir] = st
	return nil
}

// ErrRefused means a file of a signed vault failed its checks: not signed
// by a member this clone trusts, signed for something else, or older than
// what this clone has seen.
var ErrRefused = errors.New("refused")

// RefusedError is a file of a signed vault that failed its checks. Path
// lets a caller name the commit that brought it; What says which check
// failed.
type RefusedError struct {
	Path string // the file, absolute
	Rel  string // the file, relative to the vault
	What string
}

func (e *RefusedError) Error() string   { return fmt.Sprintf("file %s refused: %s", e.Rel, e.What) }
func (e *RefusedError) Is(t error) bool { return t == ErrRefused }

func (v *Vault) refused(path, format string, args ...any) *RefusedError {
	return &RefusedError{Path: path, Rel: v.rel(path), What: fmt.Sprintf(format, args...)}
}

// memberLabel names a member in a message: name and fingerprint.
func memberLabel(m *format.Manifest, key string) string {
	if n := m.Name(key); n != "" {
		return fmt.Sprintf("%s (%s)", n, recipients.Fingerprint(key))
	}
	return recipients.Fingerprint(key)
}

// newVaultID makes a signed vault's id.
func newVaultID() (string, error) {
	b := make([]byte, format.VaultIDLen/2)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// trust is what a signed vault.json's chain gives this clone: the members
// it reaches from the keys the user accepted, and whether the list itself
// holds (signed by one of them, not older than what the clone saw).
type trust struct {
	reached map[string]bool
	listErr error
	state   *vaultstate.State
}

// trustedKeys are the keys trust starts from: those the user accepted for
// the vault (a join's --trust, recipients accept) and those accepted
// without a record (the user's own, KR_IDENTITY's, KR_ACCEPT's).
func (v *Vault) trustedKeys() ([]string, error) {
	acc, err := v.opts.Accepted.Accepted(v.opts.Dir)
	if err != nil {
		return nil, err
	}
	also, err := v.alsoAccepted()
	if err != nil {
		return nil, err
	}
	return append(slices.Clone(acc), also...), nil
}

// trustOf checks the signed vault.json m: its chain from the keys the user
// trusts, its list signature, its id and epoch against this clone's state.
func (v *Vault) trustOf(m *format.Manifest) (*trust, error) {
	keys, err := v.trustedKeys()
	if err != nil {
		return nil, err
	}
	st, err := v.opts.State.Load(v.opts.Dir)
	if err != nil {
		return nil, err
	}
	t := &trust{reached: m.Chain(keys), state: st}
	switch {
	case st.VaultID != "" && st.VaultID != m.VaultID:
		t.listErr = fmt.Errorf("it names vault %s, and this clone has seen vault %s here", m.VaultID, st.VaultID)
	case m.Epoch < st.Epoch:
		t.listErr = fmt.Errorf("its membership epoch %d is older than epoch %d this clone has seen: a rolled-back member list", m.Epoch, st.Epoch)
	default:
		t.listErr = m.CheckList(t.reached)
	}
	if t.listErr == nil {
		t.listErr = replayed(m, st)
	}
	return t, nil
}

// replayed finds a member of m whom this clone saw removed and whose
// entry is signed no later than the first list it saw without them: an
// entry from before the removal, put back (a removed member who can still
// push, re-adding themselves; the chain reaches the old entry because it
// was good when it was made). A member added again is signed anew, at a
// later epoch. A clone that never saw the removal cannot tell.
func replayed(m *format.Manifest, st *vaultstate.State) error {
	for _, k := range m.Recipients {
		r, ok := st.Removed[k]
		if e := m.Entries[k]; ok && e.Epoch <= r {
			return fmt.Errorf("it lists %s, whom this clone saw removed at epoch %d, with their entry from epoch %d: a removed member's entry put back", memberLabel(m, k), r, e.Epoch)
		}
	}
	return nil
}

// checkList refuses a signed vault.json whose list does not hold, naming
// the file (and so its commit).
func (v *Vault) checkList(t *trust) error {
	if t.listErr != nil {
		return v.refused(v.path(manifestFile), "%v", t.listErr)
	}
	return nil
}

// seen records what a read found good: the vault's id and epoch, and the
// counters of names read. It only raises.
func (v *Vault) seen(m *format.Manifest, t *trust, counters map[string]uint64) error {
	st := t.state
	need := st.VaultID != m.VaultID || st.Epoch < m.Epoch || (st.Epoch == m.Epoch && st.Members == nil)
	for n, c := range counters {
		need = need || st.Counters[n] < c
	}
	if !need {
		return nil
	}
	return v.opts.State.Update(v.opts.Dir, func(st *vaultstate.State) error {
		if st.VaultID != "" && st.VaultID != m.VaultID {
			return fmt.Errorf("this clone has seen vault %s here, not %s", st.VaultID, m.VaultID)
		}
		st.VaultID = m.VaultID
		if m.Epoch > st.Epoch || (m.Epoch == st.Epoch && st.Members == nil) {
			for _, k := range st.Members {
				if !slices.Contains(m.Recipients, k) {
					if st.Removed == nil {
						st.Removed = map[string]uint64{}
					}
					st.Removed[k] = m.Epoch
				}
			}
			for _, k := range m.Recipients {
				if r, ok := st.Removed[k]; ok && m.Entries[k].Epoch > r {
					delete(st.Removed, k) // added again since
				}
			}
			st.Epoch, st.Members = m.Epoch, slices.Clone(m.Recipients)
		}
		if st.Counters == nil {
			st.Counters = map[string]uint64{}
		}
		for n, c := range counters {
			st.Counters[n] = max(st.Counters[n], c)
		}
		return nil
	})
}

// checkSecret checks a signed vault's secret read from the file at p
// under name: its signature, by a member the chain reaches who was one at
// the epoch signed and reads the folder, over the vault's id, its name,
// the recipient record of ct and its value; and its counter against what
// this clone has seen. It returns the counter.
func (v *Vault) checkSecret(m *format.Manifest, t *trust, sc *scopes, p, name string, ct []byte, sec format.Secret) (uint64, error) {
	if err := v.checkList(t); err != nil {
		return 0, err
	}
	sig := sec.Signed
	if sig == nil {
		return 0, v.refused(p, "it is not signed, and the vault is (a member who knows the value can sign it: 'kr vault verify --adopt %s')", name)
	}
	if sig.VaultID != m.VaultID {
		return 0, v.refused(p, "it is signed for another vault (%s)", sig.VaultID)
	}
	if !t.reached[sig.Writer] {
		if slices.Contains(m.Recipients, sig.Writer) {
			return 0, v.refused(p, "it is signed by %s, a member no one you trust added", memberLabel(m, sig.Writer))
		}
		return 0, v.refused(p, "it is signed by %s, who is not a member", recipients.Fingerprint(sig.Writer))
	}
	// A later epoch than vault.json's is a change interrupted before it
	// wrote vault.json; the writer's membership is checked all the same.
	if e := m.Entries[sig.Writer]; sig.Epoch < e.Epoch {
		return 0, v.refused(p, "it is signed at membership epoch %d, when %s was no member yet (member since epoch %d)", sig.Epoch, memberLabel(m, sig.Writer), e.Epoch)
	}
	set, err := sc.of(p)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(set.keys, sig.Writer) {
		return 0, v.refused(p, "it is signed by %s, who does not read the folder and may not write there", memberLabel(m, sig.Writer))
	}
	rec, ok, err := readRecord(ct)
	if err != nil || !ok {
		return 0, v.refused(p, "it has no readable recipient record")
	}
	if !sig.Verify(sec.Name, rec, sec.Value) {
		return 0, v.refused(p, "its signature by %s does not match its name, recipients or value: changed after it was written", memberLabel(m, sig.Writer))
	}
	if seen := t.state.Counters[name]; sig.Counter < seen {
		return 0, v.refused(p, "it is older than the version this clone has seen (write %d, seen %d): a rolled-back file", sig.Counter, seen)
	}
	return sig.Counter, nil
}

// writer is a member signing a change.
type writer struct {
	key  string
	sign format.Signer
}

// signer returns the local user as a writer of the signed vault m: a
// member the chain reaches, whose key the Decrypter can sign with.
func (v *Vault) signer(ctx context.Context, m *format.Manifest) (*writer, error) {
	sg, ok := v.opts.Decrypter.(Signer)
	if !ok {
		return nil, fmt.Errorf("%w: writing to a signed vault needs your identity, to sign", backends.ErrLocked)
	}
	s, _ := v.sealed(m)
	key, err := sg.SigningKey(ctx, s, m.Recipients)
	if err != nil {
		return nil, err
	}
	return &writer{key: key, sign: func(msg []byte) ([]byte, error) { return sg.Sign(ctx, s, key, msg) }}, nil
}

// plaintext signs value as name, encrypted to keys, at counter.
func (w *writer) plaintext(m *format.Manifest, name string, counter uint64, keys []string, value []byte) ([]byte, error) {
	sig := format.Signature{VaultID: m.VaultID, Epoch: m.Epoch, Counter: counter, Writer: w.key}
	msg := format.SecretMessage(sig, name, sortedKeys(keys), value)
	defer clear(msg)
	var err error
	if sig.Sig, err = w.sign(msg); err != nil {
		return nil, err
	}
	return format.SignedPlaintext(name, sig, value), nil
}

// existingCounter is the counter of the signed secret at p, 0 when there
// is none or it does not open: the next write of the name goes above both
// it and what this clone has seen, so no reader takes it for a rollback.
func (v *Vault) existingCounter(ctx context.Context, m *format.Manifest, p string) uint64 {
	ct, err := readFileChecked(p, maxCiphertext)
	if err != nil {
		return 0
	}
	s, _ := v.sealed(m)
	s.Ciphertext = ct
	plain, err := v.opts.Decrypter.Decrypt(ctx, s)
	if err != nil {
		return 0
	}
	defer clear(plain)
	sec, err := format.ReadSecret(plain)
	if err != nil || sec.Signed == nil || sec.Signed.VaultID != m.VaultID {
		return 0
	}
	return sec.Signed.Counter
}

// signWith signs with an age identity held in this process.
func signWith(id *age.X25519Identity, msg []byte) ([]byte, error) {
	scalar, err := xeddsa.IdentityScalar(id)
	if err != nil {
		return nil, err
	}
	defer clear(scalar)
	return xeddsa.Sign(scalar, msg)
}

// SigningKey is the member key among members that d holds.
func (d *KeyDecrypter) SigningKey(_ context.Context, _ Sealed, members []string) (string, error) {
	for _, k := range d.Recipients() {
		if slices.Contains(members, k) {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: %s holds no member's key", ErrWrongIdentity, d.Source)
}

// Sign signs msg with d's identity for key.
func (d *KeyDecrypter) Sign(_ context.Context, _ Sealed, key string, msg []byte) ([]byte, error) {
	for _, id := range d.Identities {
		if x, ok := id.(*age.X25519Identity); ok && x.Recipient().String() == key {
			return signWith(x, msg)
		}
	}
	return nil, fmt.Errorf("%w: %s holds no key %s", ErrWrongIdentity, d.Source, key)
}

// SigningKey is the identity the passphrase opens: s.Recipient.
func (d *PassphraseDecrypter) SigningKey(_ context.Context, s Sealed, members []string) (string, error) {
	if s.Recipient == "" || !slices.Contains(members, s.Recipient) {
		if _, err := s.IdentityFile(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: your identity is not a member", ErrWrongIdentity)
	}
	return s.Recipient, nil
}

// Sign unwraps the identity (asking for the passphrase once) and signs.
func (d *PassphraseDecrypter) Sign(ctx context.Context, s Sealed, key string, msg []byte) ([]byte, error) {
	if key != s.Recipient {
		return nil, fmt.Errorf("%w: the passphrase opens %s, not %s", ErrWrongIdentity, s.Recipient, key)
	}
	id, err := d.identity(ctx, s)
	if err != nil {
		return nil, err
	}
	return signWith(id, msg)
}

// checkRead is checkSecret for one read, recording what it found good.
func (v *Vault) checkRead(m *format.Manifest, p, name string, ct []byte, sec format.Secret) error {
	t, err := v.trustOf(m)
	if err != nil {
		return err
	}
	sc := v.scopes(m)
	sc.asWritten = true
	sc.trust = t
	counter, err := v.checkSecret(m, t, sc, p, name, ct, sec)
	if err != nil {
		return err
	}
	return v.seen(m, t, map[string]uint64{name: counter})
}

// signedWrite is a change to a signed vault in progress: who signs, at
// which epoch, and the counters it wrote, recorded once it is done.
type signedWrite struct {
	v        *Vault
	m        *format.Manifest // vault.json as read
	at       *format.Manifest // the vault.json the change signs at: m, or the one it writes
	t        *trust
	w        *writer
	counters map[string]uint64
	before   *scopes // the scopes files were written under; nil: as written now
}

// beginSigned starts a change to the signed vault m that signs at the
// epoch of at (nil: m's). It is nil for a vault that is not signed.
func (v *Vault) beginSigned(ctx context.Context, m, at *format.Manifest) (*signedWrite, error) {
	if !m.Signed() {
		return nil, nil
	}
	if at == nil {
		at = m
	}
	t, err := v.trustOf(m)
	if err != nil {
		return nil, err
	}
	if err := v.checkList(t); err != nil {
		return nil, err
	}
	w, err := v.signer(ctx, m)
	if err != nil {
		return nil, err
	}
	if !t.reached[w.key] {
		return nil, fmt.Errorf("your key %s is not reached by the signatures in %s from any key you trust: the other members would refuse what you write", recipients.Fingerprint(w.key), manifestFile)
	}
	return &signedWrite{v: v, m: m, at: at, t: t, w: w, counters: map[string]uint64{}}, nil
}

// seal is the signed plaintext of value written as name to the file at p,
// governed by set, at counter (0: above what the file holds and what this
// clone saw).
func (sw *signedWrite) seal(ctx context.Context, name, p string, set scopeSet, counter uint64, value []byte) ([]byte, error) {
	if !slices.Contains(set.keys, sw.w.key) {
		return nil, fmt.Errorf("you do not read %s, so you may not write there (its scope leaves you out)", sw.v.rel(p))
	}
	if counter == 0 {
		counter = max(sw.t.state.Counters[name], sw.v.existingCounter(ctx, sw.m, p)) + 1
	}
	plain, err := sw.w.plaintext(sw.at, name, counter, set.keys, value)
	if err != nil {
		return nil, err
	}
	sw.counters[name] = counter
	return plain, nil
}

// done records the counters written (the epoch is recorded by the next
// read of the vault.json written).
func (sw *signedWrite) done() error {
	if sw == nil {
		return nil
	}
	return sw.v.seen(sw.m, sw.t, sw.counters)
}

// signMembers prepares a membership change of the signed vault m to next:
// next gets a new epoch, entries fills in the entries the change signs,
// and the returned sign signs the whole list, last, once the secrets are
// re-encrypted (their signatures name next's epoch). For a vault that is
// not signed it does nothing.
func (v *Vault) signMembers(ctx context.Context, m, next *format.Manifest, entries func(w *writer) error) (sign func() error, err error) {
	if !m.Signed() {
		return func() error { return nil }, nil
	}
	// The old list's own signature is not required: a change signs the
	// whole list again, and is how a member repairs one a pusher spoiled.
	// Its entries must still lead from what the user trusts.
	t, err := v.trustOf(m)
	if err != nil {
		return nil, err
	}
	w, err := v.signer(ctx, m)
	if err != nil {
		return nil, err
	}
	if !t.reached[w.key] {
		return nil, fmt.Errorf("your key %s is not reached by the signatures in %s from any key you trust: the other members would refuse the change", recipients.Fingerprint(w.key), manifestFile)
	}
	next.Epoch = max(m.Epoch, t.state.Epoch) + 1
	next.SignedBy, next.Signature = "", nil
	if err := entries(w); err != nil {
		return nil, err
	}
	return func() error { return next.SignList(w.key, w.sign) }, nil
}

// formatScope is the scope file of folder holding keys; in a signed vault
// signed by the local user at the epoch of at (the vault.json the change
// writes), names taken from at.
func (v *Vault) formatScope(ctx context.Context, m, at *format.Manifest, folder string, keys []string) ([]byte, error) {
	if !m.Signed() {
		return format.FormatScope(folder, keys, at.Names), nil
	}
	w, err := v.signer(ctx, m)
	if err != nil {
		return nil, err
	}
	return format.SignedScope(at.VaultID, folder, keys, at.Names, at.Epoch, w.key, w.sign)
}

// signMerged signs what a sync's merge wrote in the signed vault m: the
// member list (its entries keep their signatures; every member must be
// one the user trusts, or the sync stops naming them) and merged scopes.
func (v *Vault) signMerged(ctx context.Context, m *format.Manifest) error {
	v.mu.Lock()
	merged := v.merged
	v.merged = nil
	v.mu.Unlock()
	if !m.Signed() || len(merged) == 0 {
		return nil
	}
	for key := range merged {
		if name, ok := strings.CutPrefix(key, "conflict:"); ok {
			if err := v.takeUpstreamCounter(ctx, m, name); err != nil {
				return err
			}
		}
	}
	if merged[manifestFile] {
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		w, err := v.signer(ctx, m)
		if err != nil {
			return err
		}
		if !m.Chain(mustTrusted(v))[w.key] {
			return fmt.Errorf("your key %s is not reached by the signatures in %s: you cannot sign the merged member list", recipients.Fingerprint(w.key), manifestFile)
		}
		if err := m.SignList(w.key, w.sign); err != nil {
			return err
		}
		if err := writeManifest(v.path(manifestFile), m); err != nil {
			return err
		}
	}
	for rel := range merged {
		if rel == manifestFile || strings.HasPrefix(rel, "conflict:") {
			continue
		}
		dir := v.path(filepath.Dir(filepath.FromSlash(rel)))
		keys, err := v.readScope(dir, m)
		if err != nil || keys == nil {
			continue // reconcile reads it again and says what is wrong
		}
		b, err := v.formatScope(ctx, m, m, v.folderOf(dir), keys)
		if err != nil {
			return err
		}
		if err := writeAtomic(filepath.Join(dir, scopeFile), b); err != nil {
			return err
		}
	}
	return nil
}

// mustTrusted is trustedKeys, none on an error (which checkAccepted has
// already reported).
func mustTrusted(v *Vault) []string {
	keys, _ := v.trustedKeys()
	return keys
}

// Vouch signs, in a signed vault, the entries of keys the user has just
// accepted whose entry no member's signature holds (one a pusher wrote,
// the user checked and took), and signs the list again when it does not
// hold: other clones then reach them through the user. It changes nothing
// in a vault that is not signed, or when every signature holds already.
func (v *Vault) Vouch(ctx context.Context, keys []string) error {
	return v.change(ctx, func(m *format.Manifest) error {
		if !m.Signed() {
			return nil
		}
		t, err := v.trustOf(m)
		if err != nil {
			return err
		}
		var unsigned []string
		for _, k := range keys {
			e, ok := m.Entries[k]
			if !ok {
				continue
			}
			msg := format.MemberMessage(m.VaultID, e.Epoch, m.Names[k], k, e.AddedBy)
			if !slices.Contains(m.Recipients, e.AddedBy) || !xeddsa.VerifyRecipient(e.AddedBy, msg, e.Signature) {
				unsigned = append(unsigned, k)
			}
		}
		if len(unsigned) == 0 && t.listErr == nil {
			return nil
		}
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		next := m.Clone()
		sign, err := v.signMembers(ctx, m, next, func(w *writer) error {
			for _, k := range unsigned {
				if err := next.SignEntry(k, w.key, w.sign); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := sign(); err != nil {
			return err
		}
		return writeManifest(v.path(manifestFile), next)
	})
}

// takeUpstreamCounter makes the counter of name's file, upstream's version
// a sync kept, what this clone has seen for name: the local version it
// replaced went to a conflict copy, and its higher counter must not make
// the kept one read as a rollback. A file that does not open changes
// nothing; its read says what is wrong.
func (v *Vault) takeUpstreamCounter(ctx context.Context, m *format.Manifest, name string) error {
	ct, err := readFileChecked(v.secretPath(name), maxCiphertext)
	if err != nil {
		return nil
	}
	s, _ := v.sealed(m)
	s.Ciphertext = ct
	plain, err := v.opts.Decrypter.Decrypt(ctx, s)
	if err != nil {
		return nil
	}
	sec, err := format.ReadSecret(plain)
	clear(plain)
	if err != nil || sec.Signed == nil || sec.Signed.VaultID != m.VaultID {
		return nil
	}
	return v.opts.State.Update(v.opts.Dir, func(st *vaultstate.State) error {
		if st.Counters == nil {
			st.Counters = map[string]uint64{}
		}
		st.Counters[name] = sec.Signed.Counter
		return nil
	})
}
