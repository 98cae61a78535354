package filevault

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"path"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
)

// Resolver settles, for a sync through git, what git cannot merge: the
// recipient files merge by recipient, and a secret changed in two clones
// keeps both versions. Paths are slash paths relative to the vault.
type Resolver struct{ v *Vault }

// Resolver returns the vault's Resolver.
func (v *Vault) Resolver() Resolver { return Resolver{v} }

// Mergeable reports the recipient files: vault.json and the scopes.
func (Resolver) Mergeable(rel string) bool {
	return rel == manifestFile || (strings.HasPrefix(rel, secretsDir+"/") && path.Base(rel) == scopeFile)
}

// Secret reports secret files.
func (Resolver) Secret(rel string) bool {
	return strings.HasPrefix(rel, secretsDir+"/") && strings.HasSuffix(rel, secretExt) && !strings.HasPrefix(path.Base(rel), ".")
}

// SecretName is the name of the secret whose file is at rel.
func (Resolver) SecretName(rel string) (string, error) {
	esc := strings.TrimSuffix(strings.TrimPrefix(rel, secretsDir+"/"), secretExt)
	name, err := format.UnescapeName(esc)
	if err != nil {
		return "", fmt.Errorf("%s is not a secret's file: %w", rel, err)
	}
	return name, nil
}

// ConflictPath is where the local version of the secret at rel is kept as
// copy n: the file of the secret NAME.conflict-n. The copy is the file as
// written, still bound to NAME, which Get accepts under that name.
func (r Resolver) ConflictPath(rel string, n int) (string, error) {
	name, err := r.SecretName(rel)
	if err != nil {
		return "", err
	}
	if r.v != nil {
		// Upstream's version of name wins: reconcile takes its counter as
		// what this clone has seen, though the local one, now the copy,
		// was written later here.
		r.v.mu.Lock()
		if r.v.merged == nil {
			r.v.merged = map[string]bool{}
		}
		r.v.merged["conflict:"+name] = true
		r.v.mu.Unlock()
	}
	c := format.ConflictName(name, n)
	if err := backends.ValidateName(c); err != nil {
		return "", fmt.Errorf("no room for a copy of %s: %w", name, err)
	}
	return secretsDir + "/" + format.EscapeName(c) + secretExt, nil
}

// Merge merges a recipient file changed in two clones by recipient: a
// recipient added on either side is kept, one removed on either side goes
// (a removal is a revocation). Names follow upstream where both name a key.
func (r Resolver) Merge(rel string, base, upstream, local []byte) ([]byte, error) {
	var out []byte
	var err error
	if rel == manifestFile {
		out, err = format.MergeManifest(base, upstream, local)
	} else {
		out, err = r.mergeScope(rel, base, upstream, local)
	}
	if err == nil && out != nil && r.v != nil {
		// A signed vault's merged file is signed by nobody yet: the sync's
		// reconcile signs it, as the member who merged.
		r.v.mu.Lock()
		if r.v.merged == nil {
			r.v.merged = map[string]bool{}
		}
		r.v.merged[rel] = true
		r.v.mu.Unlock()
	}
	return out, err
}

// mergeScope merges a scope as format.MergeKeys does. A scope deleted on one side
// and changed on the other stays, changed: of the two, it is the one that
// keeps secrets from the members outside it.
func (r Resolver) mergeScope(rel string, base, upstream, local []byte) ([]byte, error) {
	parse := func(side string, b []byte) ([]string, error) {
		if b == nil {
			return nil, nil
		}
		keys, err := format.ParseScope(b)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", side, rel, err)
		}
		return keys, nil
	}
	b, err := parse("merge base's", base)
	if err != nil {
		return nil, err
	}
	u, err := parse("upstream", upstream)
	if err != nil {
		return nil, err
	}
	l, err := parse("local", local)
	if err != nil {
		return nil, err
	}
	var keys []string
	switch {
	case u == nil && l == nil:
		return nil, nil
	case u == nil:
		keys = l
	case l == nil:
		keys = u
	default:
		keys = format.MergeKeys(b, u, l)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: the clones removed every member of the scope between them: set it again with 'kr vault scope set'", rel)
	}
	folder, err := format.UnescapeFolder(strings.TrimPrefix(path.Dir(rel), secretsDir+"/"))
	if err != nil {
		return nil, fmt.Errorf("%s is not in a folder of secrets: %w", rel, err)
	}
	var names map[string]string
	if m, err := r.v.manifest(); err == nil {
		names = m.Names
	}
	return format.FormatScope(folder, keys, names), nil
}

// Same reports whether two versions of the secret file at rel hold the
// same secret, name and value: then a sync keeps upstream's and makes no
// conflict copy, for two clones that both re-encrypted (each changed the
// recipients) changed no value. A version the local keys cannot open is
// never the same.
func (r Resolver) Same(ctx context.Context, rel string, upstream, local []byte) bool {
	if bytes.Equal(upstream, local) {
		return true
	}
	if r.v == nil || r.v.opts.Decrypter == nil {
		return false
	}
	m, err := r.v.manifest()
	if err != nil {
		return false
	}
	open := func(ct []byte) []byte {
		s, _ := r.v.sealed(m)
		s.Ciphertext = ct
		plain, err := r.v.opts.Decrypter.Decrypt(ctx, s)
		if err != nil {
			return nil
		}
		return plain
	}
	u := open(upstream)
	defer clear(u)
	if u == nil {
		return false
	}
	l := open(local)
	defer clear(l)
	if l == nil {
		return false
	}
	// The name and value, not the signature lines: two members who
	// re-encrypted one value each signed it.
	us, uerr := format.ReadSecret(u)
	ls, lerr := format.ReadSecret(l)
	return uerr == nil && lerr == nil && us.Name == ls.Name && subtle.ConstantTimeCompare(us.Value, ls.Value) == 1
}
