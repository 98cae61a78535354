package filevault

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/atomicfile"
)

// Re-encryption: replacing secret files, each encrypted to the set that
// governs it, all or none. Adding or removing a member, changing a scope
// and reconciling after a sync all come here.

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
//
// In a signed vault each file must pass the read's checks first (a file a
// pusher wrote is never re-signed), and is signed again by the local user
// at the epoch of at (the vault.json the change writes; nil: m), with its
// counter raised.
//
// before, when given, are the scopes each file was written under, for the
// writer check (a scope set replaces one a pusher changed).
func (v *Vault) reencrypt(ctx context.Context, m, at *format.Manifest, files []secretFile, unreadable func(secretFile), before ...*scopes) error {
	if len(files) == 0 {
		return nil
	}
	if v.opts.Decrypter == nil {
		return fmt.Errorf("%w: re-encrypting needs the vault unlocked", backends.ErrLocked)
	}
	sw, err := v.beginSigned(ctx, m, at)
	if err != nil {
		return err
	}
	if sw != nil && len(before) > 0 {
		sw.before = before[0]
	}
	err = v.sealAll(func(next func(secretFile, []byte)) error {
		return v.decryptEach(ctx, m, sw, files, unreadable, next)
	})
	if err != nil {
		return err
	}
	return sw.done()
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

// decryptEach decrypts files in order and hands each plaintext to next,
// which owns it from then on.
func (v *Vault) decryptEach(ctx context.Context, m *format.Manifest, sw *signedWrite, files []secretFile, unreadable func(secretFile), next func(secretFile, []byte)) error {
	sealed, idErr := v.sealed(m)
	var asWritten *scopes
	if sw != nil {
		asWritten = sw.before
		if asWritten == nil {
			asWritten = v.scopes(m)
			asWritten.asWritten = true
		}
		asWritten.trust = sw.t
	}
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
		sec, err := format.ReadSecret(plain)
		if err == nil && sec.Name != f.name && !format.IsConflictCopy(f.name, sec.Name) {
			err = fmt.Errorf("it holds secret %s: renamed or swapped?", sec.Name)
		}
		if err != nil {
			clear(plain)
			return fmt.Errorf("re-encrypt %s: file %s is damaged: %w", f.name, v.rel(f.path), err)
		}
		if sw != nil {
			counter, err := v.checkSecret(m, sw.t, asWritten, f.path, f.name, ct, sec)
			if err != nil {
				clear(plain)
				return fmt.Errorf("re-encrypt %s: %w", f.name, err)
			}
			signed, err := sw.seal(ctx, sec.Name, f.path, f.set, counter+1, sec.Value)
			clear(plain)
			if err != nil {
				return fmt.Errorf("re-encrypt %s: %w", f.name, err)
			}
			plain = signed
		}
		next(f, plain)
	}
	return nil
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
	rec, ok, _ := format.ReadRecord(bufio.NewReader(file))
	return !ok || !slices.Equal(rec, sortedKeys(f.set.keys)), nil
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

func sortedKeys(keys []string) []string {
	s := slices.Clone(keys)
	slices.Sort(s)
	return s
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
