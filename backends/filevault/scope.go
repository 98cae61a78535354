package filevault

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"
)

// A scope narrows who reads a folder: secrets/FOLDER/.age-recipients lists
// the recipients of every secret below FOLDER (the nearest such file up the
// tree wins), so the ops team can read prod/ while everyone reads dev/.
// The file is an age recipients file as `age -R` reads it (passage uses the
// same idea), holding X25519 keys that must each be a recipient of the
// vault: vault.json names them, and removing a member from the vault
// removes them from every scope.
const scopeFile = ".age-recipients"

// parseScope reads a scope file as age -R does (one age1 key a line, a
// trailing \r dropped, empty lines and lines starting with # ignored) and
// more strictly: at least one key, each once.
func parseScope(b []byte) ([]string, error) {
	if len(b) > maxSmallFile {
		return nil, fmt.Errorf("larger than %d bytes", maxSmallFile)
	}
	var keys []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := age.ParseX25519Recipient(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if slices.Contains(keys, line) {
			return nil, fmt.Errorf("line %d: %s is listed twice", i+1, line)
		}
		keys = append(keys, line)
	}
	if len(keys) == 0 {
		return nil, errors.New("no recipients: a scope nobody can read")
	}
	return keys, nil
}

// formatScope writes a scope file for folder, each key under a comment
// naming its member.
func formatScope(folder string, keys []string, names map[string]string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# kr scope: the secrets under %s/ are encrypted to these recipients only\n", folder)
	for _, k := range keys {
		if n := names[k]; n != "" {
			fmt.Fprintf(&b, "# %s\n", n)
		}
		b.WriteString(k)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// folderDir is the directory of a folder of secrets (a name prefix
// without a trailing slash).
func (v *Vault) folderDir(folder string) string {
	return filepath.Join(v.opts.Dir, secretsDir, filepath.FromSlash(escapeFolder(folder)))
}

// scopes finds the recipients of the secrets in each folder, reading each
// scope file once. The vault's own recipients govern where no scope does.
type scopes struct {
	v     *Vault
	m     *manifest
	cache map[string]scopeSet // secrets directory -> its set
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

func (v *Vault) scopes(m *manifest) *scopes {
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
	f := filepath.Join(dir, scopeFile)
	b, err := readFileChecked(f, maxSmallFile)
	var set scopeSet
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if set, err = s.dir(filepath.Dir(dir)); err != nil {
			return scopeSet{}, err
		}
	case err != nil:
		return scopeSet{}, err
	default:
		keys, err := parseScope(b)
		if err != nil {
			return scopeSet{}, fmt.Errorf("%s: %w", s.v.rel(f), err)
		}
		for _, k := range keys {
			if !slices.Contains(s.m.Recipients, k) {
				return scopeSet{}, fmt.Errorf("%s lists %s, which is not a recipient in %s: add it to the vault first, or remove it from the scope", s.v.rel(f), k, manifestFile)
			}
		}
		set = scopeSet{keys: keys, file: f}
	}
	s.cache[dir] = set
	return set, nil
}

// ScopeFiles lists the vault's scope files, as folder names.
func (v *Vault) scopeFolders() ([]string, error) {
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
		if !d.IsDir() || p == root {
			return nil
		}
		if _, err := os.Lstat(filepath.Join(p, scopeFile)); err == nil {
			rel, _ := filepath.Rel(root, p)
			name, err := unescapeFolder(filepath.ToSlash(rel))
			if err != nil {
				return fmt.Errorf("%s: %w", v.rel(p), err)
			}
			out = append(out, name)
		}
		return nil
	})
	return out, err
}
