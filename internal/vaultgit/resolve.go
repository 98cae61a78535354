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
	blobs, err := s.newBlobs(ctx, paths)
	if err != nil {
		return err
	}
	for i, u := range paths {
		rel := strings.TrimPrefix(u.path, s.prefix)
		if err := blobs.load(ctx, paths[i:]); err != nil {
			return err
		}
		base, upstream, local := blobs.get(u.stages[1]), blobs.get(u.stages[2]), blobs.get(u.stages[3])
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

// maxBlob bounds a conflicting file read into memory: a secret's file is
// at most about 1.3 MiB, vault.json and scope files far less.
const maxBlob = 8 << 20

// maxBatch bounds the files of one git cat-file --batch, and so what a
// round holds in memory at once.
const maxBatch = 64 << 20

// blobs reads the sides of a round's unmerged paths. A recipient change in
// both clones leaves every secret unmerged, so they are read with two git
// processes per maxBatch bytes, not two per side of each file (2,000
// secrets took 28 s that way).
type blobs struct {
	s    *syncer
	size map[string]int64  // every side's object -> its size
	data map[string][]byte // the sides of the paths loaded last
}

// sides are the stages of u that resolve reads: the merge base matters
// only to a merge.
func (s *syncer) sides(u *unmergedPath) []*stageEntry {
	rel := strings.TrimPrefix(u.path, s.prefix)
	var out []*stageEntry
	for i, st := range u.stages[1:] {
		if st != nil && (i > 0 || s.opts.Resolver.Mergeable(rel)) {
			out = append(out, st)
		}
	}
	return out
}

// newBlobs asks git the size of every side first: a pusher decides how
// large a conflicting file is, and none is read before all are known.
func (s *syncer) newBlobs(ctx context.Context, paths []*unmergedPath) (*blobs, error) {
	b := &blobs{s: s, size: map[string]int64{}}
	var in []byte
	for _, u := range paths {
		for _, st := range s.sides(u) {
			if _, ok := b.size[st.oid]; !ok {
				b.size[st.oid] = -1
				in = append(append(in, st.oid...), '\n')
			}
		}
	}
	if len(in) == 0 {
		return b, nil
	}
	out, err := s.g.run(ctx, call{args: []string{"cat-file", "--batch-check"}, stdin: in})
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[1] != "blob" {
			return nil, fmt.Errorf("git cat-file --batch-check: unexpected %q", line)
		}
		n, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || n > maxBlob {
			return nil, fmt.Errorf("a conflicting file of %s bytes: more than a vault file can hold (%d)", f[2], maxBlob)
		}
		if _, ok := b.size[f[0]]; !ok {
			return nil, fmt.Errorf("git cat-file --batch-check: unexpected %q", line)
		}
		b.size[f[0]] = n
	}
	return b, nil
}

// load reads the sides of paths[0], unless they are loaded, with those of
// the paths after it up to maxBatch bytes.
func (b *blobs) load(ctx context.Context, paths []*unmergedPath) error {
	loaded := true
	for _, st := range b.s.sides(paths[0]) {
		if _, ok := b.data[st.oid]; !ok {
			loaded = false
		}
	}
	if loaded {
		return nil
	}
	b.data = map[string][]byte{}
	var in []byte
	var want []string
	asked := map[string]bool{}
	total := int64(0)
	for i, u := range paths {
		sides := b.s.sides(u)
		n := int64(0)
		for _, st := range sides {
			n += b.size[st.oid]
		}
		if i > 0 && total+n > maxBatch {
			break
		}
		total += n
		for _, st := range sides {
			if !asked[st.oid] {
				asked[st.oid] = true
				want = append(want, st.oid)
				in = append(append(in, st.oid...), '\n')
			}
		}
	}
	if len(want) == 0 {
		return nil
	}
	out, err := b.s.g.run(ctx, call{args: []string{"cat-file", "--batch"}, stdin: in})
	if err != nil {
		return err
	}
	// <oid> SP blob SP <size> LF <content> LF, per object asked for.
	for _, oid := range want {
		hdr, rest, ok := bytes.Cut(out, []byte{'\n'})
		f := strings.Fields(string(hdr))
		if !ok || len(f) != 3 || f[0] != oid || f[1] != "blob" || f[2] != strconv.FormatInt(b.size[oid], 10) || int64(len(rest)) < b.size[oid]+1 {
			return fmt.Errorf("git cat-file --batch: unexpected answer for %s", oid)
		}
		b.data[oid] = rest[:b.size[oid]:b.size[oid]]
		out = rest[b.size[oid]+1:]
	}
	return nil
}

// get returns one side's content; nil for a side that has no file.
func (b *blobs) get(st *stageEntry) []byte {
	if st == nil {
		return nil
	}
	return b.data[st.oid]
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
