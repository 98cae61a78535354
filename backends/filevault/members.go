package filevault

// The vault's members: who vault.json lists, and adding and removing one,
// which re-encrypts what they may read (reencrypt.go). Whose keys the
// local user accepted is accepted.go's.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// Member is a recipient of the vault.
type Member struct {
	Name string // "" where vault.json gives none
	Key  string // age1...
}

// Members lists the vault's recipients in vault.json's order.
func (v *Vault) Members() ([]Member, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(m.Recipients))
	for i, k := range m.Recipients {
		out[i] = Member{Name: m.Name(k), Key: k}
	}
	return out, nil
}

// ErrLastRecipient means a removal would leave the vault, or a scope, with
// nobody to encrypt to, or the vault without its own identity.
var ErrLastRecipient = errors.New("the vault needs this recipient")

// change runs fn under the vault's lock with the current vault.json.
func (v *Vault) change(ctx context.Context, fn func(m *format.Manifest) error) error {
	if _, err := v.manifest(); err != nil {
		return err
	}
	unlock, err := v.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	// Read under the lock, so that no recipient or secret added meanwhile
	// is missed.
	m, err := v.manifest()
	if err != nil {
		return err
	}
	return fn(m)
}

// AddRecipient adds member name with key (age1...) to vault.json and
// re-encrypts the secrets it may read (those no scope narrows) in one
// batch; it returns how many. vault.json is written last: an interruption
// leaves every file readable by the recipients vault.json names.
func (v *Vault) AddRecipient(ctx context.Context, name, key string) (int, error) {
	if _, err := age.ParseX25519Recipient(key); err != nil {
		return 0, fmt.Errorf("recipient %q: %w", key, err)
	}
	n := 0
	err := v.change(ctx, func(m *format.Manifest) error {
		if name != "" && !m.Shared() {
			name = "" // a personal vault's vault.json lists keys only
		}
		if name != "" {
			if err := ValidMemberName(name); err != nil {
				return err
			}
			if k, taken := m.KeyOf(name); taken && k != key {
				return fmt.Errorf("%s already names recipient %s", name, k)
			}
		} else if m.Shared() {
			return errors.New("a shared vault's recipients have names: give one")
		}
		if slices.Contains(m.Recipients, key) {
			if m.Name(key) != name {
				return fmt.Errorf("%s is already a recipient, named %q", key, m.Name(key))
			}
			return nil
		}
		// Adding is the user's word for this recipient. The secrets are
		// re-encrypted to the new set, so no other recipient the user has
		// not accepted may ride along.
		if err := v.opts.Accepted.Accept(v.opts.Dir, key); err != nil {
			return err
		}
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		next := m.Clone()
		next.Recipients = append(next.Recipients, key)
		if name != "" {
			next.Names[key] = name
		}
		sign, err := v.signMembers(ctx, m, next, func(w *writer) error {
			return next.SignEntry(key, w.key, w.sign)
		})
		if err != nil {
			return err
		}
		files, err := v.secretFiles(ctx, v.scopes(next))
		if err != nil {
			return err
		}
		files = slices.DeleteFunc(files, func(f secretFile) bool { return f.set.file != "" })
		if err := v.reencrypt(ctx, m, next, files, nil); err != nil {
			return err
		}
		n = len(files)
		if err := sign(); err != nil {
			return err
		}
		return writeManifest(v.path(manifestFile), next)
	})
	return n, err
}

// RemoveRecipient takes key out of vault.json and out of every scope, and
// re-encrypts every secret it could read to the remaining recipients. It
// returns those secrets' names: copies made before (git history, backups)
// still open with the removed key, so they must be rotated. Secrets are
// replaced first, the scopes next and vault.json last: run again after an
// interruption, it finishes the job. The accepted record forgets the key.
func (v *Vault) RemoveRecipient(ctx context.Context, key string) ([]string, error) {
	var readable []string
	err := v.change(ctx, func(m *format.Manifest) error {
		if !slices.Contains(m.Recipients, key) {
			return fmt.Errorf("%s is not a recipient of %s", key, v.opts.Dir)
		}
		if key == m.Identity {
			return fmt.Errorf("%w: %s is the vault's own identity", ErrLastRecipient, key)
		}
		if len(m.Recipients) == 1 {
			return fmt.Errorf("%w: it is the only one, and nobody could read the secrets", ErrLastRecipient)
		}
		next := m.Clone()
		next.Recipients = slices.DeleteFunc(next.Recipients, func(r string) bool { return r == key })
		delete(next.Names, key)
		if err := v.checkAccepted(next); err != nil {
			return err
		}
		sign, err := v.signMembers(ctx, m, next, func(w *writer) error {
			if w.key == key {
				return errors.New("you cannot remove yourself from a signed vault: another member must, so that someone vouches for whom you added")
			}
			// Whom the removed member added, the remover vouches for now:
			// the chain must not break where they were.
			for _, k := range next.Recipients {
				if e := next.Entries[k]; e.AddedBy == key {
					if err := next.SignEntry(k, w.key, w.sign); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		before := v.scopes(m)
		before.asWritten = true
		after := v.scopes(next)
		folders, err := v.scopeFolders()
		if err != nil {
			return err
		}
		scopeWrites := map[string][]byte{}
		for _, folder := range folders {
			dir := v.folderDir(folder)
			set, err := before.dir(dir)
			if err != nil {
				return err
			}
			if !slices.Contains(set.keys, key) {
				continue
			}
			keys := slices.DeleteFunc(slices.Clone(set.keys), func(r string) bool { return r == key })
			if len(keys) == 0 {
				return fmt.Errorf("%w: it is the only recipient of the scope %s/; remove the scope first ('kr vault scope rm %s')", ErrLastRecipient, folder, folder)
			}
			// The scope as written, less key: its other members must be
			// ones the user accepted, or a pusher's addition would ride in.
			if err := after.checkAccepted(dir, keys); err != nil {
				return err
			}
			after.override(dir, keys)
			if scopeWrites[set.file], err = v.formatScope(ctx, m, next, folder, keys); err != nil {
				return err
			}
		}
		files, err := v.secretFiles(ctx, before)
		if err != nil {
			return err
		}
		var todo []secretFile
		for _, f := range files {
			could, err := v.couldRead(f, key)
			if err != nil {
				return err
			}
			if !could {
				continue
			}
			if f.set, err = after.of(f.path); err != nil {
				return err
			}
			todo = append(todo, f)
		}
		if err := v.reencrypt(ctx, m, next, todo, nil); err != nil {
			return err
		}
		if err := writeFiles(scopeWrites); err != nil {
			return err
		}
		for f := range scopeWrites {
			if err := v.opts.Accepted.Forget(filepath.Dir(f), key); err != nil {
				return err
			}
		}
		for _, f := range todo {
			readable = append(readable, f.name)
		}
		if err := sign(); err != nil {
			return err
		}
		return writeManifest(v.path(manifestFile), next)
	})
	if err != nil {
		return nil, err
	}
	return readable, v.opts.Accepted.Forget(v.opts.Dir, key)
}

// couldRead reports whether key may open f: its record says so, or key is
// in the set that governs it. The set counts even where the record leaves
// key out: a removal killed after its batch left f re-encrypted and key in
// vault.json, and run again it must still name f among those to rotate.
func (v *Vault) couldRead(f secretFile, key string) (bool, error) {
	if slices.Contains(f.set.keys, key) {
		return true, nil
	}
	keys, _, err := readRecordFile(f.path)
	if err != nil {
		return false, fmt.Errorf("file %s: %w", v.rel(f.path), err)
	}
	return slices.Contains(keys, key), nil
}
