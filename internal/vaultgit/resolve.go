package vaultgit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kr-keyring/kr/internal/atomicfile"
)

// maxConflictCopies bounds the search for a free NAME.conflict-n.
const maxConflictCopies = 1000

// stageEntry is one side of an unmerged path in the index.
type stageEntry struct {
	mode string
	oid  string
}

// unmergedPath is a path git left unmerged. During a rebase stage 2 is the
// upstream side (the commits being rebased onto) and stage 3 the local
// commit being replayed.
type unmergedPath struct {
	path   string // from the top of the work tree
	stages [4]*stageEntry
}

// unmerged lists the index's unmerged paths.
func (s *syncer) unmerged(ctx context.Context) ([]*unmergedPath, error) {
	out, err := s.g.run(ctx, call{args: []string{"ls-files", "-u", "-z"}})
	if err != nil {
		return nil, err
	}
	var list []*unmergedPath
	byPath := map[string]*unmergedPath{}
	for _, rec := range strings.Split(string(out), "\x00") {
		if rec == "" {
			continue
		}
		// <mode> SP <object> SP <stage> TAB <path>
		info, p, ok := strings.Cut(rec, "\t")
		f := strings.Fields(info)
		if !ok || len(f) != 3 || len(f[2]) != 1 || f[2][0] < '1' || f[2][0] > '3' {
			return nil, fmt.Errorf("git ls-files -u: unexpected record %q", rec)
		}
		u := byPath[p]
		if u == nil {
			u = &unmergedPath{path: p}
			byPath[p] = u
			list = append(list, u)
		}
		u.stages[f[2][0]-'0'] = &stageEntry{mode: f[0], oid: f[1]}
	}
	return list, nil
}

// resolveRebase settles every conflict of a stopped rebase and continues
// it, until it is done. stopped is the error of the command that stopped.
func (s *syncer) resolveRebase(ctx context.Context, rep *Report, stopped error) error {
	for {
		paths, err := s.unmerged(ctx)
		if err != nil {
			return err
		}
		if len(paths) == 0 {
			return fmt.Errorf("the rebase stopped without a conflict kr can settle: %w", stopped)
		}
		if err := s.resolve(ctx, paths, rep); err != nil {
			return err
		}
		// A local commit whose every change lost to upstream is left empty:
		// --skip drops it, whatever this git's --continue does with an
		// empty pick (git 2.39's merge backend drops it too; others stop).
		empty, err := s.g.ok(ctx, "diff", "--cached", "--quiet", "HEAD")
		if err != nil {
			return err
		}
		next := "--continue"
		if empty {
			next = "--skip"
		}
		_, err = s.g.run(ctx, call{args: []string{"rebase", next}, env: s.ident})
		if ctx.Err() != nil {
			return err
		}
		rebasing, rerr := s.rebasing(ctx)
		if rerr != nil {
			return rerr
		}
		if !rebasing {
			return err
		}
		if err != nil {
			stopped = err
		}
	}
}

// resolve settles one round of unmerged paths, or returns an error
// naming the first path it cannot settle before writing anything. A
// failure on a later path (a merge refused, a file too large, ctx) takes
// back the conflict copies it wrote: git rebase --abort restores tracked
// files only, and a copy left untracked would be committed by the next
// sync as a secret of its own.
func (s *syncer) resolve(ctx context.Context, paths []*unmergedPath, rep *Report) (err error) {
	for _, u := range paths {
		if err := s.settleable(u); err != nil {
			return err
		}
	}
	index, err := s.indexPaths(ctx)
	if err != nil {
		return err
	}
	// Nearer the root first: vault.json is merged, and written, before the
	// scope files whose merge may read it.
	paths = slices.Clone(paths)
	slices.SortStableFunc(paths, func(a, b *unmergedPath) int {
		return strings.Count(a.path, "/") - strings.Count(b.path, "/")
	})
	var touched, copies []string
	defer func() {
		if err != nil {
			for _, p := range copies {
				os.Remove(s.abs(p))
			}
		}
	}()
	for _, u := range paths {
		rel := strings.TrimPrefix(u.path, s.prefix)
		base, err := s.blob(ctx, u.stages[1])
		if err != nil {
			return err
		}
		upstream, err := s.blob(ctx, u.stages[2])
		if err != nil {
			return err
		}
		local, err := s.blob(ctx, u.stages[3])
		if err != nil {
			return err
		}
		if s.opts.Resolver.Mergeable(rel) {
			merged, err := s.opts.Resolver.Merge(rel, base, upstream, local)
			if err != nil {
				return fmt.Errorf("merge %s: %w", rel, err)
			}
			if err := s.put(u.path, merged, merged != nil); err != nil {
				return err
			}
			touched = append(touched, u.path)
			if !slices.Contains(rep.Merged, rel) {
				rep.Merged = append(rep.Merged, rel)
			}
			continue
		}
		// Both sides re-encrypted one value (each changed the recipients):
		// no conflict, upstream's file stays.
		if sc, ok := s.opts.Resolver.(SameChecker); ok && upstream != nil && local != nil && sc.Same(ctx, rel, upstream, local) {
			if err := s.put(u.path, upstream, true); err != nil {
				return err
			}
			touched = append(touched, u.path)
			continue
		}
		// A secret: upstream's version wins its path, the local one is kept beside it.
		c := Conflict{Path: rel, Kind: conflictKind(u)}
		if u.stages[3] != nil {
			kept, err := s.freeConflictPath(rel, index)
			if err != nil {
				return err
			}
			if err := s.put(s.prefix+kept, local, true); err != nil {
				return err
			}
			index[s.prefix+kept] = true
			copies = append(copies, s.prefix+kept)
			touched = append(touched, s.prefix+kept)
			c.KeptAs = kept
		}
		if err := s.put(u.path, upstream, u.stages[2] != nil); err != nil {
			return err
		}
		touched = append(touched, u.path)
		rep.Conflicts = append(rep.Conflicts, c)
	}
	var list []byte
	for _, p := range touched {
		list = append(append(list, pathSpec(p)...), 0)
	}
	args := slices.Concat(noCRLF, []string{"add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"})
	if _, err := s.g.run(ctx, call{args: args, stdin: list}); err != nil {
		return fmt.Errorf("stage the merged files: %w", err)
	}
	return nil
}

// settleable says why kr cannot settle u, if it cannot: a path outside the
// vault, a file the resolver does not know, or something other than a
// regular file.
func (s *syncer) settleable(u *unmergedPath) error {
	rel, inVault := strings.CutPrefix(u.path, s.prefix)
	if !inVault {
		return fmt.Errorf("conflict in %s, outside the vault", u.path)
	}
	for _, st := range u.stages[1:] {
		if st != nil && st.mode != "100644" && st.mode != "100755" {
			return fmt.Errorf("conflict in %s, not a regular file on both sides", u.path)
		}
	}
	r := s.opts.Resolver
	switch {
	case r.Mergeable(rel):
		return nil
	case r.Secret(rel):
		if conflictKind(u) == "" {
			return fmt.Errorf("conflict in %s that kr does not know (index stages %v)", u.path, sides(u))
		}
		return nil
	default:
		return fmt.Errorf("conflict in %s, neither a secret nor a file kr merges", u.path)
	}
}

func sides(u *unmergedPath) []int {
	var n []int
	for i, st := range u.stages {
		if st != nil {
			n = append(n, i)
		}
	}
	return n
}

// conflictKind names what happened to a secret on each side, "" for a
// combination of stages a rebase does not leave on a plain file.
func conflictKind(u *unmergedPath) string {
	base, up, local := u.stages[1] != nil, u.stages[2] != nil, u.stages[3] != nil
	switch {
	case base && up && local:
		return "both changed"
	case base && up:
		return "changed upstream, deleted here"
	case base && local:
		return "deleted upstream, changed here"
	case !base && up && local:
		return "both added"
	}
	return ""
}

// blob reads one side's content; nil for a side that has no file.
// maxBlob bounds a conflicting file read into memory: a secret's file is
// at most about 1.3 MiB, vault.json and scope files far less.
const maxBlob = 8 << 20

func (s *syncer) blob(ctx context.Context, st *stageEntry) ([]byte, error) {
	if st == nil {
		return nil, nil
	}
	// A pusher decides how large a conflicting file is: ask git first.
	size, err := s.g.out(ctx, "cat-file", "-s", st.oid)
	if err != nil {
		return nil, err
	}
	if n, err := strconv.ParseInt(size, 10, 64); err != nil || n > maxBlob {
		return nil, fmt.Errorf("a conflicting file of %s bytes: more than a vault file can hold (%d)", size, maxBlob)
	}
	b, err := s.g.run(ctx, call{args: []string{"cat-file", "blob", st.oid}})
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// indexPaths returns every path in the index, unmerged ones included.
func (s *syncer) indexPaths(ctx context.Context) (map[string]bool, error) {
	out, err := s.g.run(ctx, call{args: []string{"ls-files", "-z"}})
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, p := range bytes.Split(out, []byte{0}) {
		if len(p) > 0 {
			set[string(p)] = true
		}
	}
	return set, nil
}

// freeConflictPath returns the first ConflictPath(rel, n) that is neither in
// the work tree nor in the index.
func (s *syncer) freeConflictPath(rel string, index map[string]bool) (string, error) {
	for n := 1; n <= maxConflictCopies; n++ {
		p, err := s.opts.Resolver.ConflictPath(rel, n)
		if err != nil {
			return "", fmt.Errorf("conflict copy of %s: %w", rel, err)
		}
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, `\`) {
			return "", fmt.Errorf("conflict copy of %s: %q is not a path inside the vault", rel, p)
		}
		full := s.prefix + p
		if index[full] {
			continue
		}
		if _, err := os.Lstat(s.abs(full)); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("conflict copy of %s: %w", rel, err)
		}
		return p, nil
	}
	return "", fmt.Errorf("conflict copy of %s: %d copies exist already", rel, maxConflictCopies)
}

// put writes data at a path from the top of the work tree (file 0600, new
// folders 0700), or removes the file when !present.
func (s *syncer) put(full string, data []byte, present bool) error {
	p := s.abs(full)
	if !present {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create folder for %s: %w", full, err)
	}
	if err := atomicfile.Write(p, data); err != nil {
		return fmt.Errorf("write %s: %w", full, err)
	}
	return nil
}
