package filevault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/atomicfile"
)

func (v *Vault) secretPath(name string) string {
	return filepath.Join(v.opts.Dir, secretsDir, filepath.FromSlash(format.EscapeName(name))+secretExt)
}

// DamagedError is a secret file that does not decrypt or parse. Path lets
// a caller say where the damage came from: a vault in a git work tree
// got the file from a commit.
type DamagedError struct {
	Path string // the file, absolute
	err  error
}

func (e *DamagedError) Error() string { return e.err.Error() }
func (e *DamagedError) Unwrap() error { return e.err }

// Get decrypts name's file and checks that it holds name.
func (v *Vault) Get(ctx context.Context, name string) (_ []byte, err error) {
	defer nameOp(&err, "get", name)
	m, err := v.manifest()
	if err != nil {
		if errors.Is(err, ErrNoVault) && !v.opts.Named {
			return nil, fmt.Errorf("%w: %s (there is no vault in %s)", backends.ErrNotFound, name, v.opts.Dir)
		}
		return nil, err
	}
	p := v.secretPath(name)
	err = v.checkDirs(filepath.Dir(p))
	var ct []byte
	if err == nil {
		ct, err = readFileChecked(p, maxCiphertext)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", backends.ErrNotFound, name)
	}
	if err != nil {
		return nil, err
	}
	if v.opts.Decrypter == nil {
		return nil, fmt.Errorf("%w: no way to decrypt the vault", backends.ErrLocked)
	}
	// Everything the Decrypter needs comes from the vault.json read above:
	// one read per Get, and one consistent view of the vault.
	sealed, _ := v.sealed(m)
	sealed.Ciphertext, sealed.Name = ct, name
	plain, err := v.opts.Decrypter.Decrypt(ctx, sealed)
	if err != nil {
		var ie *IdentityError
		if errors.Is(err, backends.ErrLocked) || errors.Is(err, ErrBadPassphrase) || errors.Is(err, ErrWrongIdentity) || errors.Is(err, ErrNoIdentity) || errors.Is(err, backends.ErrCanceled) ||
			errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, backends.ErrUnavailable) || errors.As(err, &ie) {
			return nil, err
		}
		return nil, &DamagedError{Path: p, err: fmt.Errorf("file %s is damaged or not for this vault: %w", v.rel(p), err)}
	}
	sec, err := format.ReadSecret(plain)
	if err != nil {
		clear(plain)
		return nil, &DamagedError{Path: p, err: fmt.Errorf("file %s is damaged: %w", v.rel(p), err)}
	}
	bound := sec.Name
	if bound != name && !format.IsConflictCopy(name, bound) {
		clear(plain)
		if m.Signed() {
			return nil, v.refused(p, "it holds secret %s: renamed or swapped", bound)
		}
		return nil, fmt.Errorf("file %s holds secret %s: renamed or swapped?", v.rel(p), bound)
	}
	if m.Signed() {
		if err := v.checkRead(m, p, name, ct, sec); err != nil {
			clear(plain)
			return nil, err
		}
	}
	out := append([]byte(nil), sec.Value...)
	clear(plain)
	if !m.Shared() {
		// The read just opened the vault's own key, or a key of another
		// recipient: acceptUnlocked tells which. A failure here changes
		// nothing the read returned; the next write says what is missing.
		_, _ = v.acceptUnlocked(ctx, m)
	}
	return out, nil
}

// Has reports whether the vault holds a file for name, without a
// passphrase or any decryption: whether it decrypts is Get's business.
// A missing vault holds nothing.
func (v *Vault) Has(ctx context.Context, name string) (bool, error) {
	if err := backends.ValidateName(name); err != nil {
		return false, err
	}
	if _, err := v.manifest(); err != nil {
		if errors.Is(err, ErrNoVault) {
			return false, nil
		}
		return false, err
	}
	p := v.secretPath(name)
	err := v.checkDirs(filepath.Dir(p))
	if err == nil {
		err = checkFile(p)
	}
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, fmt.Errorf("secret %s: %w", name, err)
}

// Set encrypts value to the vault's recipients and replaces name's file
// atomically. On a missing vault it creates one first when Options.Create
// allows.
func (v *Vault) Set(ctx context.Context, name string, value []byte) (err error) {
	defer nameOp(&err, "set", name)
	if err := backends.ValidateName(name); err != nil {
		return err
	}
	if err := v.ensureVault(ctx); err != nil {
		return err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Read under the lock: a recipient may have been added meanwhile.
	m, err := v.manifest()
	if err != nil {
		return err
	}
	if err := v.checkAccepted(m); err != nil {
		return err
	}
	p := v.secretPath(name)
	set, err := v.scopes(m).of(p)
	if err != nil {
		return err
	}
	sw, err := v.beginSigned(ctx, m, nil)
	if err != nil {
		return err
	}
	var plain []byte
	if sw != nil {
		if plain, err = sw.seal(ctx, name, p, set, 0, value); err != nil {
			return err
		}
	} else {
		plain = format.SecretPlaintext(name, value)
	}
	ct, err := encryptTo(plain, set.keys)
	clear(plain)
	if err != nil {
		return err
	}
	if err := v.makeDirs(filepath.Dir(p)); err != nil {
		return err
	}
	// The rename would replace whatever is there, but a foreign file or a
	// symlink in the vault means someone else has been in it: stop.
	if err := checkFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := writeAtomic(p, ct); err != nil {
		return err
	}
	return sw.done()
}

// ensureVault creates a missing vault on a first write, when
// Options.Create allows, under the lock so that many first writers make
// one vault.
func (v *Vault) ensureVault(ctx context.Context) error {
	_, err := v.manifest()
	if !errors.Is(err, ErrNoVault) {
		return err
	}
	if v.opts.Create == nil {
		return fmt.Errorf("%w: %s", ErrNoVault, v.opts.Dir)
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
		return nil
	}
	pass, err := v.opts.Create(ctx)
	if err != nil {
		return err
	}
	code, err := v.initLocked(pass)
	clear(pass)
	if err != nil {
		return err
	}
	if v.opts.ShowRecovery != nil {
		v.opts.ShowRecovery(code)
	}
	return nil
}

// Delete removes name's file.
func (v *Vault) Delete(ctx context.Context, name string) (err error) {
	defer nameOp(&err, "delete", name)
	if err := backends.ValidateName(name); err != nil {
		return err
	}
	if _, err := v.manifest(); err != nil {
		if errors.Is(err, ErrNoVault) && !v.opts.Named {
			return fmt.Errorf("%w: %s (there is no vault in %s)", backends.ErrNotFound, name, v.opts.Dir)
		}
		return err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	p := v.secretPath(name)
	err = v.checkDirs(filepath.Dir(p))
	if err == nil {
		err = checkFile(p)
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", backends.ErrNotFound, name)
		}
		return err
	}
	atomicfile.SyncDir(filepath.Dir(p))
	// Drop directories the removal left empty; a failure only leaves one.
	root := v.path(secretsDir)
	for d := filepath.Dir(p); d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// List walks secrets/ and returns the names under prefix, sorted.
func (v *Vault) List(ctx context.Context, prefix string) ([]string, error) {
	if _, err := v.manifest(); err != nil {
		if errors.Is(err, ErrNoVault) && !v.opts.Named {
			return nil, nil
		}
		return nil, err
	}
	root := v.path(secretsDir)
	if err := v.checkDirs(root); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	l := lister{ctx: ctx}
	if err := l.walk(root, "", true); err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	names := l.result(prefix)
	sort.Strings(names)
	return names, nil
}

// nameOp names the operation and the secret in err, once, for every way
// Get, Set and Delete can fail: the one piece of context callers lack. Not
// found and invalid names say the name themselves.
func nameOp(err *error, op, name string) {
	if *err == nil || errors.Is(*err, backends.ErrNotFound) || errors.Is(*err, backends.ErrInvalidName) {
		return
	}
	*err = fmt.Errorf("%s %s: %w", op, name, *err)
}

// SetMany stores values[i] as names[i], all or none: one lock, one
// vault.json read, encryption on every CPU and one flush (kr import of
// thousands of values). A missing vault is created first, as by Set.
func (v *Vault) SetMany(ctx context.Context, names []string, values [][]byte) error {
	if len(names) != len(values) {
		return errors.New("SetMany: names and values differ in number")
	}
	for _, n := range names {
		if err := backends.ValidateName(n); err != nil {
			return err
		}
	}
	if err := v.ensureVault(ctx); err != nil {
		return err
	}
	return v.change(ctx, func(m *format.Manifest) (err error) {
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		sc := v.scopes(m)
		made := map[string]bool{}
		sw, err := v.beginSigned(ctx, m, nil)
		if err != nil {
			return err
		}
		defer func() {
			if err == nil {
				err = sw.done()
			}
		}()
		return v.sealAll(func(next func(secretFile, []byte)) error {
			for i, name := range names {
				if err := ctx.Err(); err != nil {
					return err
				}
				p := v.secretPath(name)
				if dir := filepath.Dir(p); !made[dir] {
					if err := v.makeDirs(dir); err != nil {
						return fmt.Errorf("set %s: %w", name, err)
					}
					made[dir] = true
				}
				// A foreign file or a symlink in the vault means someone
				// else has been in it: stop, as Set does.
				if err := checkFile(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("set %s: %w", name, err)
				}
				set, err := sc.of(p)
				if err != nil {
					return fmt.Errorf("set %s: %w", name, err)
				}
				var plain []byte
				if sw != nil {
					if plain, err = sw.seal(ctx, name, p, set, 0, values[i]); err != nil {
						return fmt.Errorf("set %s: %w", name, err)
					}
				} else {
					plain = format.SecretPlaintext(name, values[i])
				}
				next(secretFile{name: name, path: p, set: set}, plain)
			}
			return nil
		})
	})
}
