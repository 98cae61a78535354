package filevault

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/recipients"
)

// AcceptedRecipients is the local user's record of the recipients they
// agreed to encrypt to, per vault directory. It must live outside the
// vault (internal/recipients keeps it in kr's config directory): whoever
// can write vault.json must not be able to add to it.
type AcceptedRecipients interface {
	// Accepted returns the recipients accepted for the vault in dir;
	// nothing recorded is an empty list, not an error.
	Accepted(dir string) ([]string, error)
	Accept(dir string, recipients ...string) error
	// Forget takes recipients out of the vault's accepted list.
	Forget(dir string, recipients ...string) error
	// AcceptedBelow returns every list recorded for a directory below
	// dir, keyed by its slash path relative to dir: the scopes of a vault
	// in one read.
	AcceptedBelow(dir string) (map[string][]string, error)
}

// ErrUnacceptedRecipient means vault.json lists a recipient the local
// user has not accepted, so kr encrypts nothing to the vault.
var ErrUnacceptedRecipient = errors.New("recipient not accepted")

// UnacceptedError names the recipients that stopped a write.
type UnacceptedError struct {
	Dir        string
	Recipients []string // age1...
	// Folder, when set, is a scope: its file lists Recipients, which the
	// local user has not accepted for it, or (Removed) the scope the user
	// accepted is gone, so its secrets would go to everyone.
	Folder  string
	Removed bool
	// Own is set when the recipient is a single-user vault's own key,
	// which opening the vault accepts.
	Own bool
}

func (e *UnacceptedError) fingerprints() []string {
	fps := make([]string, len(e.Recipients))
	for i, r := range e.Recipients {
		fps[i] = recipients.Fingerprint(r)
	}
	return fps
}

func (e *UnacceptedError) Error() string {
	fps := e.fingerprints()
	what := "a recipient"
	if len(fps) > 1 {
		what = fmt.Sprintf("%d recipients", len(fps))
	}
	switch {
	case e.Removed:
		return fmt.Sprintf("the scope of %s/ in %s, which you accepted, was removed: its secrets would go to every member, so nothing was written", e.Folder, e.Dir)
	case e.Folder != "":
		return fmt.Sprintf("the scope of %s/ in %s lists %s you have not accepted for it (fingerprint %s): kr widens no scope without your word, so nothing was written",
			e.Folder, e.Dir, what, strings.Join(fps, ", "))
	}
	return fmt.Sprintf("%s in %s lists %s you have not accepted (fingerprint %s): kr encrypts only to recipients you accepted, so nothing was written",
		manifestFile, e.Dir, what, strings.Join(fps, ", "))
}

func (e *UnacceptedError) Is(target error) bool { return target == ErrUnacceptedRecipient }

// Hint is the next step, for the CLI's "hint:" line.
func (e *UnacceptedError) Hint() string {
	if e.Folder != "" {
		return fmt.Sprintf("check the change with whoever made it ('kr vault scope ls', git log); then run 'kr vault scope accept %s', or set the scope again with 'kr vault scope set %s MEMBER...'", e.Folder, e.Folder)
	}
	if e.Own {
		return "if this is your own vault, read a secret from it or run 'kr unlock': opening its identity.age accepts its key; otherwise check with whoever made the vault that the fingerprint is theirs, then run 'kr vault recipients accept " + strings.Join(e.fingerprints(), " ") + "'"
	}
	return "check with whoever added it to vault.json that the fingerprint is theirs; then run 'kr vault recipients accept " + strings.Join(e.fingerprints(), " ") + "', or remove it from vault.json to write again"
}

// memoryRecord stands in for a record when Options gives none: a process
// then accepts what it creates, and what it is told to.
type memoryRecord struct {
	mu sync.Mutex
	m  map[string][]string
}

func (r *memoryRecord) Accepted(dir string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.m[dir]), nil
}

func (r *memoryRecord) AcceptedBelow(dir string) (map[string][]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for d, list := range r.m {
		if rel, ok := strings.CutPrefix(d, dir+string(filepath.Separator)); ok {
			out[filepath.ToSlash(rel)] = slices.Clone(list)
		}
	}
	return out, nil
}

func (r *memoryRecord) Accept(dir string, rs ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string][]string{}
	}
	for _, s := range rs {
		if !slices.Contains(r.m[dir], s) {
			r.m[dir] = append(r.m[dir], s)
		}
	}
	return nil
}

func (r *memoryRecord) Forget(dir string, rs ...string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		return nil
	}
	r.m[dir] = slices.DeleteFunc(r.m[dir], func(s string) bool { return slices.Contains(rs, s) })
	return nil
}

// unaccepted returns m's recipients the local user has not accepted.
// Nothing in the vault vouches for a key: whoever can push writes
// vault.json, so a lone recipient there (a fresh clone) is as much a
// stranger as any. Only the user's own keys need no word from them
// and the keys the process is told to accept (alsoAccepted); a single-user
// vault's own identity is recorded once the user has opened it
// (AcceptUnlocked).
func (v *Vault) unaccepted(m *format.Manifest) ([]string, error) {
	if m.Signed() {
		// A signed vault's members are those the chain of signatures
		// reaches from the keys the user trusts; no other.
		keys, err := v.trustedKeys()
		if err != nil {
			return nil, err
		}
		reached := m.Chain(keys)
		var out []string
		for _, r := range m.Recipients {
			if !reached[r] {
				out = append(out, r)
			}
		}
		return out, nil
	}
	acc, err := v.opts.Accepted.Accepted(v.opts.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range m.Recipients {
		if !slices.Contains(acc, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	also, err := v.alsoAccepted()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(r string) bool { return slices.Contains(also, r) }), nil
}

// alsoAccepted are the keys accepted without a record: the user's own
// (their personal identity; KR_IDENTITY through Options.AcceptAlso), since
// encrypting to one's own key gives nothing away, and those the process was
// told to accept (KR_ACCEPT).
func (v *Vault) alsoAccepted() ([]string, error) {
	var own []string
	if v.opts.Personal != nil {
		pub, err := v.opts.Personal.Recipient()
		switch {
		case err == nil:
			own = append(own, pub)
		case !errors.Is(err, ErrNoIdentity):
			return nil, err
		}
	}
	if v.opts.AcceptAlso != nil {
		keys, err := v.opts.AcceptAlso()
		if err != nil {
			return nil, err
		}
		own = append(own, keys...)
	}
	return own, nil
}

// AcceptUnlocked records a single-user vault's own key (the one its
// identity.age holds) as accepted once the user has shown they can open
// it: a pusher who replaced vault.json and identity.age with their own
// could not make the user's passphrase open them. The proof is a
// challenge sealed to that key alone, opened through the Decrypter (the
// agent, an identity from the environment, the passphrase), so it asks
// for nothing a read of the vault would not. It reports whether the key is
// accepted now; a shared vault has no key of its own, and reports false.
func (v *Vault) AcceptUnlocked(ctx context.Context) (bool, error) {
	m, err := v.manifest()
	if err != nil {
		return false, err
	}
	return v.acceptUnlocked(ctx, m)
}

func (v *Vault) acceptUnlocked(ctx context.Context, m *format.Manifest) (bool, error) {
	if m.Shared() || m.Identity == "" {
		return false, nil
	}
	acc, err := v.opts.Accepted.Accepted(v.opts.Dir)
	if err != nil {
		return false, err
	}
	if slices.Contains(acc, m.Identity) {
		return true, nil
	}
	if v.opts.Decrypter == nil {
		return false, nil
	}
	r, err := age.ParseX25519Recipient(m.Identity)
	if err != nil {
		return false, err
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return false, err
	}
	ct, err := encrypt(nonce, r)
	if err != nil {
		return false, err
	}
	got, err := v.opts.Decrypter.Decrypt(ctx, Sealed{Ciphertext: ct, Recipient: m.Identity, Vault: v.opts.Dir, identity: func() ([]byte, error) { return v.identityFileOf(m) }})
	if err != nil {
		return false, err
	}
	if !bytes.Equal(got, nonce) {
		return false, errors.New("the vault's own key did not open a challenge sealed to it")
	}
	return true, v.opts.Accepted.Accept(v.opts.Dir, m.Identity)
}

// checkAccepted stops a write to m's recipients unless the local user
// accepted every one.
func (v *Vault) checkAccepted(m *format.Manifest) error {
	out, err := v.unaccepted(m)
	if err != nil {
		return err
	}
	if len(out) > 0 {
		return &UnacceptedError{Dir: v.opts.Dir, Recipients: out, Own: !m.Shared() && slices.Contains(out, m.Identity)}
	}
	return nil
}

// UnacceptedRecipients lists the recipients (age1...) in vault.json that
// the local user has not accepted: while there is one, writes stop.
func (v *Vault) UnacceptedRecipients() ([]string, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	return v.unaccepted(m)
}
