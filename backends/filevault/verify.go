package filevault

// Checking a signed vault whole (kr vault verify, kr doctor, and a sync
// before it pushes), signing what a member vouches for (--adopt), and
// turning an unsigned shared vault into a signed one (kr vault upgrade).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/vaultstate"
)

// Verified is what Verify found.
type Verified struct {
	Signed     bool
	Checked    []string // secrets read and found good
	Unreadable []string // secrets the local keys cannot open, so not checked
	Problems   []error  // each a *RefusedError or *DamagedError naming its file
}

// Signed reports whether the vault is a signed one (vault.json version 3).
func (v *Vault) Signed() (bool, error) {
	m, err := v.manifest()
	if err != nil {
		return false, err
	}
	return m.Signed(), nil
}

// Verify checks every file of the vault the local keys can read: in a
// signed vault, vault.json's chain and list, every scope's signature and
// every secret as a read would; in another, that each secret decrypts and
// holds its name. It records nothing: a rollback stays one until read.
func (v *Vault) Verify(ctx context.Context) (*Verified, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	return v.verify(ctx, m)
}

func (v *Vault) verify(ctx context.Context, m *format.Manifest) (*Verified, error) {
	r := &Verified{Signed: m.Signed()}
	var t *trust
	if m.Signed() {
		var err error
		if t, err = v.trustOf(m); err != nil {
			return nil, err
		}
		if err := v.checkList(t); err != nil {
			r.Problems = append(r.Problems, err)
			return r, nil
		}
	}
	sc := v.scopes(m)
	sc.asWritten = true
	sc.trust = t
	names, err := v.List(ctx, "")
	if err != nil {
		return nil, err
	}
	sealed, idErr := v.sealed(m)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := v.secretPath(name)
		if _, err := sc.of(p); err != nil {
			var re *RefusedError
			if errors.As(err, &re) {
				if !slices.ContainsFunc(r.Problems, func(e error) bool { var o *RefusedError; return errors.As(e, &o) && o.Path == re.Path }) {
					r.Problems = append(r.Problems, err)
				}
				continue
			}
			return nil, err
		}
		ct, err := readFileChecked(p, maxCiphertext)
		if err != nil {
			return nil, err
		}
		if keys, ok, _ := readRecord(ct); ok && idErr == nil && !slices.Contains(keys, sealed.Recipient) {
			r.Unreadable = append(r.Unreadable, name)
			continue
		}
		s := sealed
		s.Ciphertext = ct
		plain, err := v.opts.Decrypter.Decrypt(ctx, s)
		var nm *age.NoIdentityMatchError
		if errors.Is(err, ErrWrongIdentity) || errors.As(err, &nm) {
			r.Unreadable = append(r.Unreadable, name)
			continue
		}
		if err != nil {
			var ie *IdentityError
			if errors.As(err, &ie) || errors.Is(err, ErrBadPassphrase) || ctx.Err() != nil {
				return nil, err
			}
			r.Problems = append(r.Problems, &DamagedError{Path: p, err: fmt.Errorf("file %s is damaged or not for this vault: %w", v.rel(p), err)})
			continue
		}
		sec, err := format.ReadSecret(plain)
		switch {
		case err != nil:
			err = &DamagedError{Path: p, err: fmt.Errorf("file %s is damaged: %w", v.rel(p), err)}
		case sec.Name != name && !format.IsConflictCopy(name, sec.Name):
			err = v.refused(p, "it holds secret %s: renamed or swapped", sec.Name)
		case m.Signed():
			_, err = v.checkSecret(m, t, sc, p, name, ct, sec)
		}
		clear(plain)
		if err != nil {
			r.Problems = append(r.Problems, err)
			continue
		}
		r.Checked = append(r.Checked, name)
	}
	return r, nil
}

// Verify is Vault.Verify under the lock already held: a sync's check
// before it pushes, after it has signed what its merge wrote.
func (l *Locked) Verify(ctx context.Context) (*Verified, error) {
	m, err := l.v.manifest()
	if err != nil {
		return nil, err
	}
	if err := l.v.signMerged(ctx, m); err != nil {
		return nil, err
	}
	return l.v.Verify(ctx)
}

// Adopt signs, in a signed vault, the secrets names as the local user:
// files that decrypt and hold their name but are not signed (written
// before the vault was signed, by a member outside the chain, or
// re-encrypted by a tool) or fail a check. The user vouches for each
// value by naming it. It returns the names it signed.
func (v *Vault) Adopt(ctx context.Context, names []string) ([]string, error) {
	var adopted []string
	err := v.change(ctx, func(m *format.Manifest) error {
		if !m.Signed() {
			return errors.New("the vault is not signed: 'kr vault upgrade' signs it")
		}
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		sw, err := v.beginSigned(ctx, m, nil)
		if err != nil {
			return err
		}
		sc := v.scopes(m)
		sealed, _ := v.sealed(m)
		err = v.sealAll(func(next func(secretFile, []byte)) error {
			for _, name := range names {
				p := v.secretPath(name)
				set, err := sc.of(p)
				if err != nil {
					return fmt.Errorf("adopt %s: %w", name, err)
				}
				ct, err := readFileChecked(p, maxCiphertext)
				if err != nil {
					return fmt.Errorf("adopt %s: %w", name, err)
				}
				s := sealed
				s.Ciphertext = ct
				plain, err := v.opts.Decrypter.Decrypt(ctx, s)
				if err != nil {
					return fmt.Errorf("adopt %s: %w", name, err)
				}
				sec, err := format.ReadSecret(plain)
				if err == nil && sec.Name != name && !format.IsConflictCopy(name, sec.Name) {
					err = fmt.Errorf("it holds secret %s", sec.Name)
				}
				if err != nil {
					clear(plain)
					return fmt.Errorf("adopt %s: %w", name, err)
				}
				counter := sw.t.state.Counters[name]
				if sec.Signed != nil && sec.Signed.VaultID == m.VaultID {
					counter = max(counter, sec.Signed.Counter)
				}
				signed, err := sw.seal(ctx, sec.Name, p, set, counter+1, sec.Value)
				clear(plain)
				if err != nil {
					return fmt.Errorf("adopt %s: %w", name, err)
				}
				next(secretFile{name: name, path: p, set: set}, signed)
				adopted = append(adopted, name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return sw.done()
	})
	return adopted, err
}

// Upgraded is what Upgrade did.
type Upgraded struct {
	Signed     []string // secrets signed by the user
	Unreadable []string // secrets the user cannot read: a member who can must adopt them
	Scopes     []string // scopes signed
}

// Upgrade turns an unsigned shared vault (version 2) into a signed one
// (version 3): a new vault id at epoch 1, every member's entry signed by
// the user (every member must be accepted), every scope and every secret
// the user can read signed; vault.json last. An older kr then refuses the
// vault, naming the version it needs. Secrets the user cannot read stay
// unsigned, and are refused until a member who reads them adopts them.
func (v *Vault) Upgrade(ctx context.Context) (*Upgraded, error) {
	r := &Upgraded{}
	err := v.change(ctx, func(m *format.Manifest) error {
		if m.Signed() {
			return errors.New("the vault is signed already")
		}
		if !m.Shared() {
			return errors.New("a single-user vault is not shared: there is no one to sign against")
		}
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		id, err := newVaultID()
		if err != nil {
			return err
		}
		next := m.Clone()
		next.Version, next.VaultID, next.Epoch = format.SignedVersion, id, 1
		w, err := v.signer(ctx, next)
		if err != nil {
			return err
		}
		for _, k := range next.Recipients {
			if next.Names[k] == "" {
				return fmt.Errorf("recipient %s has no name: a signed vault names every member ('kr vault recipients rm' and add it with a name)", k)
			}
			if err := next.SignEntry(k, w.key, w.sign); err != nil {
				return err
			}
		}
		if err := next.SignList(w.key, w.sign); err != nil {
			return err
		}
		// The secrets and scopes are checked and signed against next, as
		// the user's own vault.json: they trust their own signatures.
		sc := v.scopes(m)
		files, err := v.secretFiles(ctx, sc)
		if err != nil {
			return err
		}
		sw := &signedWrite{v: v, m: next, at: next, w: w, counters: map[string]uint64{},
			t: &trust{reached: map[string]bool{}, state: mustState(v)}}
		for _, k := range next.Recipients {
			sw.t.reached[k] = true
		}
		unreadable := map[string]bool{}
		err = v.sealAll(func(feed func(secretFile, []byte)) error {
			return v.decryptEach(ctx, m, nil, files, func(f secretFile) { unreadable[f.name] = true }, func(f secretFile, plain []byte) {
				sec, err := format.ReadSecret(plain)
				if err != nil {
					clear(plain)
					return
				}
				signed, err := sw.seal(ctx, sec.Name, f.path, f.set, 1, sec.Value)
				clear(plain)
				if err != nil {
					unreadable[f.name] = true
					return
				}
				feed(f, signed)
			})
		})
		if err != nil {
			return err
		}
		for _, f := range files {
			if unreadable[f.name] {
				r.Unreadable = append(r.Unreadable, f.name)
			} else {
				r.Signed = append(r.Signed, f.name)
			}
		}
		folders, err := v.scopeFolders()
		if err != nil {
			return err
		}
		scopeWrites := map[string][]byte{}
		for _, folder := range folders {
			dir := v.folderDir(folder)
			keys, err := v.readScope(dir, m)
			if err != nil {
				return err
			}
			if keys == nil {
				continue
			}
			b, err := format.SignedScope(next.VaultID, folder, keys, next.Names, next.Epoch, w.key, w.sign)
			if err != nil {
				return err
			}
			scopeWrites[filepath.Join(dir, scopeFile)] = b
			r.Scopes = append(r.Scopes, folder)
		}
		if err := writeFiles(scopeWrites); err != nil {
			return err
		}
		if err := writeManifest(v.path(manifestFile), next); err != nil {
			return err
		}
		return sw.done()
	})
	return r, err
}

func mustState(v *Vault) *vaultstate.State {
	st, err := v.opts.State.Load(v.opts.Dir)
	if err != nil {
		return &vaultstate.State{Counters: map[string]uint64{}}
	}
	return st
}
