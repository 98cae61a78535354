package filevault

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/atomicfile"
)

// A scope narrows who reads a folder (format.ParseScope says how its file
// reads). The vault's own recipients govern where no scope does; the
// nearest scope file up the tree wins.

// folderDir is the directory of a folder of secrets (a name prefix
// without a trailing slash).
func (v *Vault) folderDir(folder string) string {
	return filepath.Join(v.opts.Dir, secretsDir, filepath.FromSlash(format.EscapeFolder(folder)))
}

// scopes finds the recipients of the secrets in each folder, reading each
// scope file once and the user's record of accepted scopes once. The
// vault's own recipients govern where no scope does.
type scopes struct {
	v     *Vault
	m     *format.Manifest
	cache map[string]scopeSet // secrets directory -> its set
	// accepted is the user's record for the vault's scopes, by folder
	// directory relative to secrets/; nil until first needed.
	accepted map[string][]string
	also     []string // keys accepted without a record (alsoAccepted)
	// asWritten reads the scopes as the files say, accepted or not: the
	// state before a change, to compare with, never to encrypt to.
	asWritten bool
	// trust is a signed vault's chain, to check each scope's signer
	// against; found when first needed.
	trust *trust
	// unsigned skips the scope signatures: the scopes a user's explicit
	// scope set replaces, only compared with.
	unsigned bool
}

// override makes the scope of dir keys (nil: no scope) whatever its file
// says: the state a change is about to write.
func (s *scopes) override(dir string, keys []string) {
	if keys == nil {
		parent, err := s.dir(filepath.Dir(dir))
		if err == nil {
			s.cache[dir] = parent
			return
		}
	}
	s.cache[dir] = scopeSet{keys: keys, file: filepath.Join(dir, scopeFile)}
}

type scopeSet struct {
	keys []string
	file string // the scope file, "" for vault.json
}

func (v *Vault) scopes(m *format.Manifest) *scopes {
	return &scopes{v: v, m: m, cache: map[string]scopeSet{}}
}

// of returns the set governing the secret file at path.
func (s *scopes) of(path string) (scopeSet, error) {
	return s.dir(filepath.Dir(path))
}

func (s *scopes) dir(dir string) (scopeSet, error) {
	if got, ok := s.cache[dir]; ok {
		return got, nil
	}
	root := s.v.path(secretsDir)
	if dir == root || !strings.HasPrefix(dir, root+string(filepath.Separator)) {
		return scopeSet{keys: s.m.Recipients}, nil
	}
	keys, sig, err := s.v.readScopeSigned(dir, s.m)
	if err != nil {
		return scopeSet{}, err
	}
	if keys != nil && s.m.Signed() && !s.unsigned {
		if err := s.checkSigned(dir, keys, sig); err != nil {
			return scopeSet{}, err
		}
	}
	if !s.asWritten {
		if err := s.checkAccepted(dir, keys); err != nil {
			return scopeSet{}, err
		}
	}
	set := scopeSet{keys: keys, file: filepath.Join(dir, scopeFile)}
	if keys == nil {
		if set, err = s.dir(filepath.Dir(dir)); err != nil {
			return scopeSet{}, err
		}
	}
	s.cache[dir] = set
	return set, nil
}

// readScope reads the scope of the folder directory dir: its members, or
// nil when it has no scope file. Each member must be a recipient of the
// vault m.
func (v *Vault) readScope(dir string, m *format.Manifest) ([]string, error) {
	keys, _, err := v.readScopeSigned(dir, m)
	return keys, err
}

// readScopeSigned is readScope, also returning the scope's signature line.
func (v *Vault) readScopeSigned(dir string, m *format.Manifest) ([]string, *format.ScopeSignature, error) {
	f := filepath.Join(dir, scopeFile)
	b, err := readFileChecked(f, maxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	keys, sig, err := format.ReadScope(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", v.rel(f), err)
	}
	if m == nil {
		return keys, sig, nil
	}
	for _, k := range keys {
		if !slices.Contains(m.Recipients, k) {
			return nil, nil, fmt.Errorf("%s lists %s, which is not a recipient in %s: add it to the vault first, or remove it from the scope", v.rel(f), k, manifestFile)
		}
	}
	return keys, sig, nil
}

// checkSigned checks a signed vault's scope of dir: signed, at an epoch
// of the vault, by a member the chain reaches who is in the scope.
func (s *scopes) checkSigned(dir string, keys []string, sig *format.ScopeSignature) error {
	if s.trust == nil {
		t, err := s.v.trustOf(s.m)
		if err != nil {
			return err
		}
		s.trust = t
	}
	file := filepath.Join(dir, scopeFile)
	folder := s.v.folderOf(dir)
	switch {
	case sig == nil:
		return s.v.refused(file, "the scope of %s/ is not signed, and the vault is", folder)
	case !s.trust.reached[sig.Writer]:
		return s.v.refused(file, "the scope of %s/ is signed by %s, not a member you trust", folder, memberLabel(s.m, sig.Writer))
	case !sig.Verify(s.m.VaultID, folder, keys):
		return s.v.refused(file, "the scope of %s/ does not match its signature by %s: changed after it was signed", folder, memberLabel(s.m, sig.Writer))
	}
	return nil
}

// checkAccepted stops kr from widening a scope on anyone's word but the
// local user's: whoever can push could otherwise add themselves to a
// scope, or delete it, and the next member to write or sync would
// re-encrypt its secrets for them. keys are the members of dir's scope now
// (nil: the directory has no scope file). The user's record keeps, per
// scope directory, the members they accepted (kr vault scope set, scope
// accept, or recipients accept --yes on a fresh clone). Narrowing needs
// nothing.
func (s *scopes) checkAccepted(dir string, keys []string) error {
	if s.accepted == nil {
		acc, err := s.v.opts.Accepted.AcceptedBelow(s.v.path(secretsDir))
		if err != nil {
			return err
		}
		also, err := s.v.alsoAccepted()
		if err != nil {
			return err
		}
		s.accepted, s.also = acc, also
	}
	rel, err := filepath.Rel(s.v.path(secretsDir), dir)
	if err != nil {
		return err
	}
	acc := s.accepted[filepath.ToSlash(rel)]
	folder := s.v.folderOf(dir)
	if keys == nil {
		if len(acc) > 0 {
			return &UnacceptedError{Dir: s.v.opts.Dir, Folder: folder, Removed: true}
		}
		return nil
	}
	var out []string
	for _, k := range keys {
		if !slices.Contains(acc, k) && !slices.Contains(s.also, k) {
			out = append(out, k)
		}
	}
	if len(out) > 0 {
		return &UnacceptedError{Dir: s.v.opts.Dir, Folder: folder, Recipients: out}
	}
	return nil
}

// folderOf is the folder name of a directory under secrets/, or its path
// when it is not one kr would make.
func (v *Vault) folderOf(dir string) string {
	rel, err := filepath.Rel(v.path(secretsDir), dir)
	if err == nil {
		if f, err := format.UnescapeFolder(filepath.ToSlash(rel)); err == nil {
			return f
		}
	}
	return v.rel(dir)
}

// ScopeChange is a scope whose members differ from what the local user
// accepted for it.
type ScopeChange struct {
	Folder  string
	Keys    []string // its members now; nil when Removed
	Pending []string // members not accepted for it
	Removed bool     // the scope file is gone
}

// PendingScopes lists the scopes whose change the local user has not
// accepted: members added, or the scope removed.
func (v *Vault) PendingScopes() ([]ScopeChange, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	dirs, err := v.folderDirs()
	if err != nil {
		return nil, err
	}
	sc := v.scopes(m)
	var out []ScopeChange
	for _, dir := range dirs {
		keys, err := v.readScope(dir, m)
		if err != nil {
			return nil, err
		}
		var ue *UnacceptedError
		if err := sc.checkAccepted(dir, keys); errors.As(err, &ue) {
			out = append(out, ScopeChange{Folder: ue.Folder, Keys: keys, Pending: ue.Recipients, Removed: ue.Removed})
		} else if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AcceptScope records the current members of folder's scope as accepted
// for it, or with no scope file there, forgets the scope the user knew.
func (v *Vault) AcceptScope(folder string) error {
	m, err := v.manifest()
	if err != nil {
		return err
	}
	dir := v.folderDir(folder)
	keys, err := v.readScope(dir, m)
	if err != nil {
		return err
	}
	return v.rememberScope(dir, keys)
}

// rememberScope makes keys the members accepted for the scope in dir (nil:
// no scope).
func (v *Vault) rememberScope(dir string, keys []string) error {
	acc, err := v.opts.Accepted.Accepted(dir)
	if err != nil {
		return err
	}
	if err := v.opts.Accepted.Forget(dir, acc...); err != nil {
		return err
	}
	if len(keys) == 0 {
		return nil
	}
	return v.opts.Accepted.Accept(dir, keys...)
}

// folderDirs lists every directory below secrets/, refusing a symlink
// anywhere in the tree.
func (v *Vault) folderDirs() ([]string, error) {
	root := v.path(secretsDir)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: kr follows none inside a vault", p)
		}
		if d.IsDir() && p != root {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// scopeFolders lists the folders that have a scope file.
func (v *Vault) scopeFolders() ([]string, error) {
	dirs, err := v.folderDirs()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, dir := range dirs {
		if _, err := os.Lstat(filepath.Join(dir, scopeFile)); err != nil {
			continue
		}
		rel, _ := filepath.Rel(v.path(secretsDir), dir)
		name, err := format.UnescapeFolder(filepath.ToSlash(rel))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.rel(dir), err)
		}
		out = append(out, name)
	}
	return out, nil
}

// Scope is a folder whose secrets only some recipients read.
type Scope struct {
	Folder string
	Keys   []string
}

// Scopes lists the vault's scopes.
func (v *Vault) Scopes() ([]Scope, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	folders, err := v.scopeFolders()
	if err != nil {
		return nil, err
	}
	var out []Scope
	for _, f := range folders {
		keys, err := v.readScope(v.folderDir(f), m)
		if err != nil {
			return nil, err
		}
		out = append(out, Scope{Folder: f, Keys: keys})
	}
	return out, nil
}

// SetScope makes keys (recipients of the vault) the only readers of the
// secrets under folder, or with keys nil removes folder's scope so that
// they follow the folder above. It re-encrypts the secrets whose readers
// change and returns their names; the scope file is written after them.
func (v *Vault) SetScope(ctx context.Context, folder string, keys []string) ([]string, error) {
	folder = strings.TrimSuffix(folder, "/")
	if err := backends.ValidateName(folder); err != nil {
		return nil, err
	}
	var changed []string
	err := v.change(ctx, func(m *format.Manifest) error {
		for _, k := range keys {
			if !slices.Contains(m.Recipients, k) {
				return fmt.Errorf("%s is not a recipient of the vault: add it with 'kr vault recipients add' first", k)
			}
		}
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		if m.Signed() && keys != nil {
			w, err := v.signer(ctx, m)
			if err != nil {
				return err
			}
			if !slices.Contains(keys, w.key) {
				return fmt.Errorf("the scope of %s/ would leave you out: in a signed vault only a folder's readers write there, and you would re-encrypt its secrets; include yourself, or ask one of its members to set it", folder)
			}
		}
		dir := v.folderDir(folder)
		file := filepath.Join(dir, scopeFile)
		if keys == nil {
			if _, err := os.Lstat(file); err != nil {
				return fmt.Errorf("%s/ has no scope", folder)
			}
		}
		before := v.scopes(m)
		before.asWritten = true
		// The user sets the scope whole: the file it replaces need not
		// hold (a member repairs one a pusher changed this way).
		before.unsigned = true
		after := v.scopes(m)
		after.override(dir, keys)
		files, err := v.secretFiles(ctx, after)
		if err != nil {
			return err
		}
		var todo []secretFile
		for _, f := range files {
			if !strings.HasPrefix(f.path, dir+string(filepath.Separator)) {
				continue
			}
			stale, err := v.stale(f)
			if err != nil {
				return err
			}
			if stale {
				todo = append(todo, f)
				continue
			}
			// Already encrypted to the new set, yet governed by another:
			// a run killed before the scope file. Its readers change all
			// the same, so it is listed.
			was, err := before.of(f.path)
			if err != nil {
				return err
			}
			if !slices.Equal(sortedKeys(was.keys), sortedKeys(f.set.keys)) {
				changed = append(changed, f.name)
			}
		}
		if err := v.reencrypt(ctx, m, nil, todo, nil, before); err != nil {
			return err
		}
		for _, f := range todo {
			changed = append(changed, f.name)
		}
		if keys == nil {
			if err := os.Remove(file); err != nil {
				return err
			}
			atomicfile.SyncDir(dir)
		} else {
			if err := v.makeDirs(dir); err != nil {
				return err
			}
			b, err := v.formatScope(ctx, m, m, folder, keys)
			if err != nil {
				return err
			}
			if err := writeAtomic(file, b); err != nil {
				return err
			}
		}
		// The user's own scope is the one they accept.
		return v.rememberScope(dir, keys)
	})
	return changed, err
}
