package filevault

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/atomicfile"
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
		out[i] = Member{Name: m.name(k), Key: k}
	}
	return out, nil
}

// ErrLastRecipient means a removal would leave the vault, or a scope, with
// nobody to encrypt to, or the vault without its own identity.
var ErrLastRecipient = errors.New("the vault needs this recipient")

// secretFile is one secret as a re-encryption sees it.
type secretFile struct {
	name string
	path string
	set  scopeSet // who must read it
}

// secretFiles lists every secret of the vault with the set that governs it.
func (v *Vault) secretFiles(ctx context.Context, sc *scopes) ([]secretFile, error) {
	names, err := v.List(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]secretFile, 0, len(names))
	for _, n := range names {
		p := v.secretPath(n)
		set, err := sc.of(p)
		if err != nil {
			return nil, err
		}
		out = append(out, secretFile{name: n, path: p, set: set})
	}
	return out, nil
}

// reencrypt decrypts each file and replaces it, encrypted to its set, in
// one atomicfile.Batch: nothing is replaced unless every file was staged.
// A file the local keys do not open goes to unreadable when it is non-nil,
// and is an error otherwise.
//
// Encrypting costs two X25519 operations per recipient and decrypting one,
// so encryption runs on every CPU. Decryption stays on this goroutine: a
// Decrypter (the agent's connection) need not be safe for concurrent use.
func (v *Vault) reencrypt(ctx context.Context, m *manifest, files []secretFile, unreadable func(secretFile)) error {
	if len(files) == 0 {
		return nil
	}
	if v.opts.Decrypter == nil {
		return fmt.Errorf("%w: re-encrypting needs the vault unlocked", backends.ErrLocked)
	}
	return v.sealAll(func(next func(secretFile, []byte)) error {
		return v.decryptEach(ctx, m, files, unreadable, next)
	})
}

// sealAll encrypts each plaintext feed hands it to its file's set, on
// every CPU, and replaces the files in one atomicfile.Batch: nothing is
// replaced unless every file was staged. feed runs on this goroutine and
// gives up each plaintext it hands over (it is wiped once encrypted).
func (v *Vault) sealAll(feed func(next func(secretFile, []byte)) error) error {
	type job struct {
		f     secretFile
		plain []byte
	}
	type sealed struct {
		f   secretFile
		ct  []byte
		err error
	}
	var b atomicfile.Batch
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan job, 2*workers)
	done := make(chan sealed, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				ct, err := encryptTo(j.plain, j.f.set.keys)
				clear(j.plain)
				done <- sealed{j.f, ct, err}
			}
		}()
	}
	written := make(chan error, 1)
	go func() {
		var err error
		for s := range done {
			if err == nil {
				err = s.err
			}
			if err == nil {
				err = b.Write(s.f.path, s.ct)
			}
		}
		written <- err
	}()
	err := feed(func(f secretFile, plain []byte) { jobs <- job{f, plain} })
	close(jobs)
	wg.Wait()
	close(done)
	if werr := <-written; err == nil {
		err = werr
	}
	if err != nil {
		b.Abort()
		return err
	}
	return b.Commit()
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
	return v.change(ctx, func(m *manifest) error {
		if err := v.checkAccepted(m); err != nil {
			return err
		}
		sc := v.scopes(m)
		made := map[string]bool{}
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
				next(secretFile{name: name, path: p, set: set}, secretPlaintext(name, values[i]))
			}
			return nil
		})
	})
}

// decryptEach decrypts files in order and hands each plaintext to next,
// which owns it from then on.
func (v *Vault) decryptEach(ctx context.Context, m *manifest, files []secretFile, unreadable func(secretFile), next func(secretFile, []byte)) error {
	sealed, idErr := v.sealed(m)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		ct, err := readFileChecked(f.path, maxCiphertext)
		if err != nil {
			return fmt.Errorf("re-encrypt %s: %w", f.name, err)
		}
		// A record that leaves out the local key saves asking the agent.
		if keys, ok, _ := readRecord(ct); ok && idErr == nil && !slices.Contains(keys, sealed.Recipient) && unreadable != nil {
			unreadable(f)
			continue
		}
		s := sealed
		s.Ciphertext, s.Name = ct, f.name
		plain, err := v.opts.Decrypter.Decrypt(ctx, s)
		var nm *age.NoIdentityMatchError
		if (errors.Is(err, ErrWrongIdentity) || errors.As(err, &nm)) && unreadable != nil {
			unreadable(f)
			continue
		}
		if err != nil {
			return fmt.Errorf("re-encrypt %s: %w", f.name, err)
		}
		bound, _, err := parseSecret(plain)
		if err == nil && bound != f.name && !isConflictCopy(f.name, bound) {
			err = fmt.Errorf("it holds secret %s: renamed or swapped?", bound)
		}
		if err != nil {
			clear(plain)
			return fmt.Errorf("re-encrypt %s: file %s is damaged: %w", f.name, v.rel(f.path), err)
		}
		next(f, plain)
	}
	return nil
}

// isConflictCopy reports whether name is a copy "BOUND.conflict-N" that a
// sync kept of secret bound: it holds bound's ciphertext as written.
func isConflictCopy(name, bound string) bool {
	rest, ok := strings.CutPrefix(name, bound+".conflict-")
	if !ok || rest == "" || rest[0] == '0' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// ConflictName is the name of a sync's copy n of secret name.
func ConflictName(name string, n int) string { return fmt.Sprintf("%s.conflict-%d", name, n) }

// change runs fn under the vault's lock with the current vault.json.
func (v *Vault) change(ctx context.Context, fn func(m *manifest) error) error {
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
	err := v.change(ctx, func(m *manifest) error {
		if name != "" && m.Version == formatVersion {
			name = "" // a personal vault's vault.json lists keys only
		}
		if name != "" {
			if err := ValidMemberName(name); err != nil {
				return err
			}
			if k, taken := m.keyOf(name); taken && k != key {
				return fmt.Errorf("%s already names recipient %s", name, k)
			}
		} else if m.Version == sharedVersion {
			return errors.New("a shared vault's recipients have names: give one")
		}
		if slices.Contains(m.Recipients, key) {
			if m.name(key) != name {
				return fmt.Errorf("%s is already a recipient, named %q", key, m.name(key))
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
		next := m.clone()
		next.Recipients = append(next.Recipients, key)
		if name != "" {
			next.Names[key] = name
		}
		files, err := v.secretFiles(ctx, v.scopes(next))
		if err != nil {
			return err
		}
		files = slices.DeleteFunc(files, func(f secretFile) bool { return f.set.file != "" })
		if err := v.reencrypt(ctx, m, files, nil); err != nil {
			return err
		}
		n = len(files)
		return writeManifest(v.path(manifestFile), next)
	})
	return n, err
}

func (m *manifest) clone() *manifest {
	c := *m
	c.Recipients = slices.Clone(m.Recipients)
	c.Names = map[string]string{}
	for k, n := range m.Names {
		c.Names[k] = n
	}
	return &c
}

// RemoveRecipient takes key out of vault.json and out of every scope, and
// re-encrypts every secret it could read to the remaining recipients. It
// returns those secrets' names: copies made before (git history, backups)
// still open with the removed key, so they must be rotated. Secrets are
// replaced first, the scopes next and vault.json last: run again after an
// interruption, it finishes the job. The accepted record forgets the key.
func (v *Vault) RemoveRecipient(ctx context.Context, key string) ([]string, error) {
	var readable []string
	err := v.change(ctx, func(m *manifest) error {
		if !slices.Contains(m.Recipients, key) {
			return fmt.Errorf("%s is not a recipient of %s", key, v.opts.Dir)
		}
		if key == m.Identity {
			return fmt.Errorf("%w: %s is the vault's own identity", ErrLastRecipient, key)
		}
		if len(m.Recipients) == 1 {
			return fmt.Errorf("%w: it is the only one, and nobody could read the secrets", ErrLastRecipient)
		}
		next := m.clone()
		next.Recipients = slices.DeleteFunc(next.Recipients, func(r string) bool { return r == key })
		delete(next.Names, key)
		if err := v.checkAccepted(next); err != nil {
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
			scopeWrites[set.file] = formatScope(folder, keys, next.Names)
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
		if err := v.reencrypt(ctx, m, todo, nil); err != nil {
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
	err := v.change(ctx, func(m *manifest) error {
		for _, k := range keys {
			if !slices.Contains(m.Recipients, k) {
				return fmt.Errorf("%s is not a recipient of the vault: add it with 'kr vault recipients add' first", k)
			}
		}
		if err := v.checkAccepted(m); err != nil {
			return err
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
		if err := v.reencrypt(ctx, m, todo, nil); err != nil {
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
			if err := writeAtomic(file, formatScope(folder, keys, m.Names)); err != nil {
				return err
			}
		}
		// The user's own scope is the one they accept.
		return v.rememberScope(dir, keys)
	})
	return changed, err
}

// stale reports whether f is not recorded as encrypted to exactly the set
// that governs it (a file without a record always is).
func (v *Vault) stale(f secretFile) (bool, error) {
	file, err := openChecked(f.path)
	if err != nil {
		return false, err
	}
	defer file.Close()
	// A damaged header is stale too: re-encrypting it then says what is
	// wrong with it.
	rec, ok, _ := recordOf(bufio.NewReader(file))
	return !ok || !slices.Equal(rec, sortedKeys(f.set.keys)), nil
}

func sortedKeys(keys []string) []string {
	s := slices.Clone(keys)
	slices.Sort(s)
	return s
}

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
	err := v.change(ctx, func(m *manifest) (err error) {
		r, err = v.reconcile(ctx, m)
		return err
	})
	return r, err
}

// Exclusive runs fn holding the vault's writer lock, so that no kr writes
// the vault meanwhile (kr vault sync runs git under it). Inside fn, use
// the Locked it is given: the Vault's own writers would wait for the lock.
func (v *Vault) Exclusive(ctx context.Context, fn func(l *Locked) error) error {
	return v.change(ctx, func(*manifest) error { return fn(&Locked{v}) })
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

func (v *Vault) reconcile(ctx context.Context, m *manifest) (*Reconciled, error) {
	var r Reconciled
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
		scopeWrites[file] = formatScope(folder, kept, m.Names)
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
	if err := v.reencrypt(ctx, m, todo, func(f secretFile) { unreadable[f.name] = true }); err != nil {
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

// writeFiles replaces each file (path -> content) atomically.
func writeFiles(files map[string][]byte) error {
	for f, content := range files {
		if err := writeAtomic(f, content); err != nil {
			return err
		}
	}
	return nil
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

// staleFiles keeps the files that are stale.
func (v *Vault) staleFiles(files []secretFile) ([]secretFile, error) {
	var out []secretFile
	for _, f := range files {
		stale, err := v.stale(f)
		if err != nil {
			return nil, err
		}
		if stale {
			out = append(out, f)
		}
	}
	return out, nil
}
