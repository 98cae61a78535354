package filevault

// After a sync: secrets written while the members changed in another
// clone are re-encrypted to the set that governs them now.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// Reconciled says what Reconcile did.
type Reconciled struct {
	Reencrypted []string // secrets now encrypted to the set that governs them
	Unreadable  []string // secrets not encrypted to it that the local keys cannot open
	Scopes      []string // scope files that listed removed recipients, now without them
}

// Reconcile re-encrypts every secret whose recorded recipients differ from
// the set that governs it (after a sync: C wrote a secret while A added
// B), and drops from the scopes recipients vault.json no longer lists (a
// removal wins). Secrets the local keys cannot open are left and reported:
// a member who can read them must run it. With nothing to re-encrypt it
// writes nothing and needs no recipient accepted.
func (v *Vault) Reconcile(ctx context.Context) (*Reconciled, error) {
	var r *Reconciled
	err := v.change(ctx, func(m *format.Manifest) (err error) {
		r, err = v.reconcile(ctx, m)
		return err
	})
	return r, err
}

// Exclusive runs fn holding the vault's writer lock, so that no kr writes
// the vault meanwhile (kr vault sync runs git under it). Inside fn, use
// the Locked it is given: the Vault's own writers would wait for the lock.
func (v *Vault) Exclusive(ctx context.Context, fn func(l *Locked) error) error {
	return v.change(ctx, func(*format.Manifest) error { return fn(&Locked{v}) })
}

// Locked is a vault whose writer lock its holder has.
type Locked struct{ v *Vault }

// Reconcile is Vault.Reconcile under the lock already held.
func (l *Locked) Reconcile(ctx context.Context) (*Reconciled, error) {
	m, err := l.v.manifest()
	if err != nil {
		return nil, err
	}
	return l.v.reconcile(ctx, m)
}

func (v *Vault) reconcile(ctx context.Context, m *format.Manifest) (*Reconciled, error) {
	var r Reconciled
	if err := v.signMerged(ctx, m); err != nil {
		return nil, err
	}
	sc := v.scopes(m)
	folders, err := v.scopeFolders()
	if err != nil {
		return nil, err
	}
	scopeWrites := map[string][]byte{}
	for _, folder := range folders {
		dir := v.folderDir(folder)
		file := filepath.Join(dir, scopeFile)
		// As written, non-members included: dropping them is the point.
		keys, err := v.readScope(dir, nil)
		if err != nil {
			return nil, err
		}
		kept := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return !slices.Contains(m.Recipients, k) })
		if len(kept) == len(keys) {
			continue
		}
		if len(kept) == 0 {
			return nil, fmt.Errorf("%s lists no recipient of the vault any more: give the scope members ('kr vault scope set %s NAME...') or remove it", v.rel(file), folder)
		}
		// Dropping removed members only narrows, but what stays must
		// still be what the user accepted.
		if err := sc.checkAccepted(dir, kept); err != nil {
			return nil, err
		}
		sc.override(dir, kept)
		if scopeWrites[file], err = v.formatScope(ctx, m, m, folder, kept); err != nil {
			return nil, err
		}
		r.Scopes = append(r.Scopes, folder)
	}
	files, err := v.secretFiles(ctx, sc)
	if err != nil {
		return nil, err
	}
	todo, err := v.staleFiles(files)
	if err != nil {
		return nil, err
	}
	if len(todo) == 0 && len(scopeWrites) == 0 {
		return &r, nil
	}
	if err := v.checkAccepted(m); err != nil {
		return nil, err
	}
	unreadable := map[string]bool{}
	if err := v.reencrypt(ctx, m, nil, todo, func(f secretFile) { unreadable[f.name] = true }); err != nil {
		return nil, err
	}
	for _, f := range todo {
		if unreadable[f.name] {
			r.Unreadable = append(r.Unreadable, f.name)
		} else {
			r.Reencrypted = append(r.Reencrypted, f.name)
		}
	}
	if err := writeFiles(scopeWrites); err != nil {
		return nil, err
	}
	return &r, nil
}

// Stale lists the secrets not recorded as encrypted to exactly the set
// that governs them: written while a member was added or removed in
// another clone, until a sync (Reconcile) re-encrypts them. It decrypts
// nothing. An unreadable scope file is an error.
func (v *Vault) Stale(ctx context.Context) ([]string, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	files, err := v.secretFiles(ctx, v.scopes(m))
	if err != nil {
		return nil, err
	}
	stale, err := v.staleFiles(files)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(stale))
	for i, f := range stale {
		out[i] = f.name
	}
	return out, nil
}
