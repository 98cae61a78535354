// Package vaultgit syncs a file vault kept in a git work tree with the
// repository's remote: it commits the vault's changes, rebases them onto
// the remote's, settles the conflicts git cannot (secrets changed on both
// sides, recipient files) and pushes. What the vault's files mean comes in
// through Resolver; this package knows git, not age.
package vaultgit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Resolver answers what git cannot merge. Paths are slash paths relative to
// the vault directory.
type Resolver interface {
	// Mergeable reports files merged by content (vault.json, scope files);
	// Merge merges them (base nil: the file was not in the merge base;
	// upstream/local nil: deleted on that side). A nil result removes the file.
	// Files nearer the vault's root are merged and written first.
	Mergeable(rel string) bool
	Merge(rel string, base, upstream, local []byte) ([]byte, error)
	// Secret reports files that are secrets; ConflictPath returns where the
	// local version of the secret at rel is kept as copy n (1, 2, ...): the
	// path of NAME.conflict-n.
	Secret(rel string) bool
	ConflictPath(rel string, n int) (string, error)
}

// SameChecker is a Resolver that can tell two versions of a secret apart
// by what they hold: versions that hold the same secret (both clones
// re-encrypted one value) are no conflict, and upstream's file stays.
type SameChecker interface {
	Same(ctx context.Context, rel string, upstream, local []byte) bool
}

// Options says which vault to sync and how.
type Options struct {
	Dir      string // the vault directory, inside a git work tree
	Resolver Resolver
	Message  string // commit message for the vault's local changes
	// Include holds glob patterns (git's pathspec glob syntax) of the
	// vault-relative paths sync commits: the files kr owns ("vault.json",
	// "secrets/**/*.age"). Anything else in the vault directory stays out
	// of the repository and is reported (Report.NotSynced), so a file that
	// merely lies in the clone (an exported app.env, a CI key) is never
	// pushed. Required.
	Include []string
	// Exclude holds glob patterns of vault-relative paths never committed
	// (".lock", "**/.kr-tmp-*"), in git's pathspec glob syntax.
	Exclude []string
	// Ignore holds lines for the vault's .gitignore (written or extended
	// by Sync, and committed): the same files as Exclude, so that git
	// status in a clone does not show them.
	Ignore []string
	// AfterMerge runs once the work tree holds the merged state and before
	// the push; it may rewrite files in the vault (re-encryption). It
	// returns a commit message, "" if it wrote nothing.
	AfterMerge func(ctx context.Context) (string, error)
	Stderr     io.Writer // git's own messages (progress, auth prompts' text) go here
}

// Conflict is a secret both sides changed: the upstream version stays at
// Path, the local one moves to KeptAs.
type Conflict struct {
	Path   string // vault-relative path of the secret changed on both sides
	KeptAs string // where the local version now is ("" if the local side deleted it)
	Kind   string // "both changed", "changed upstream, deleted here", "deleted upstream, changed here", "both added"
}

// Report says what a sync did.
type Report struct {
	Committed bool     // local changes were committed
	Pulled    int      // upstream commits brought in
	Pushed    bool     // commits were pushed
	Published bool     // first push to an empty remote branch (set upstream)
	Merged    []string // mergeable files merged by Resolver.Merge
	Conflicts []Conflict
	NoRemote  bool // the repository has no remote: committed locally only
	// AfterMergeCommitted is set when AfterMerge wrote files that were committed.
	AfterMergeCommitted bool
	// NotSynced lists the vault's files, untracked and not ignored, that
	// sync left out (not in Include), each the first time this clone saw
	// it; TrackedStrays the ones git tracks already (committed by hand or
	// by an older kr), which sync leaves as they are.
	NotSynced     []string
	TrackedStrays []string
}

// ErrNotRepository is returned, wrapped with the directory, when the vault
// is not inside a git work tree.
var ErrNotRepository = errors.New("not in a git work tree")

// maxPushAttempts bounds how often a sync pulls again because the remote
// moved between its pull and its push.
const maxPushAttempts = 3

// Sync commits the vault's changes, brings in the remote's and pushes the
// result. A failure while merging leaves the clone as it was before the
// pull (the vault's local changes committed).
func Sync(ctx context.Context, opts Options) (*Report, error) {
	if opts.Resolver == nil {
		return nil, errors.New("vaultgit: no resolver")
	}
	if opts.Message == "" {
		return nil, errors.New("vaultgit: no commit message")
	}
	if len(opts.Include) == 0 {
		return nil, errors.New("vaultgit: no files to include")
	}
	s, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := s.refuseInProgress(ctx); err != nil {
		return nil, err
	}
	branch, err := s.branch(ctx)
	if err != nil {
		return nil, err
	}
	up, err := s.upstream(ctx, branch)
	if err != nil {
		return nil, err
	}
	if up.remote != "" {
		// git rebase refuses a dirty tree; say so before committing anything.
		if err := s.refuseDirtyOutside(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.refuseIgnored(ctx); err != nil {
		return nil, err
	}
	if err := ensureAttributes(opts.Dir); err != nil {
		return nil, err
	}
	if err := ensureIgnored(opts.Dir, opts.Ignore); err != nil {
		return nil, err
	}
	rep := &Report{}
	if err := s.strays(ctx, up.remote != "", rep); err != nil {
		return nil, err
	}
	if rep.Committed, err = s.untrackExcluded(ctx); err != nil {
		return nil, err
	}
	committed, err := s.commitVault(ctx, opts.Message)
	if err != nil {
		return nil, err
	}
	rep.Committed = rep.Committed || committed
	if up.remote == "" {
		rep.NoRemote = true
		return rep, nil
	}
	if !up.known {
		exists, err := s.remoteHasBranch(ctx, up)
		if err != nil {
			return nil, err
		}
		if !exists {
			if err := s.publish(ctx, up); err != nil {
				return nil, err
			}
			rep.Published, rep.Pushed = true, true
			return rep, nil
		}
		if !up.configured {
			if err := s.setUpstream(ctx, branch, up); err != nil {
				return nil, err
			}
		}
	}
	for attempt := 1; ; attempt++ {
		if err := s.pull(ctx, up, rep); err != nil {
			return nil, err
		}
		if opts.AfterMerge != nil {
			msg, err := opts.AfterMerge(ctx)
			if err != nil {
				return nil, fmt.Errorf("after merge: %w", err)
			}
			if msg != "" {
				committed, err := s.commitVault(ctx, msg)
				if err != nil {
					return nil, err
				}
				rep.AfterMergeCommitted = rep.AfterMergeCommitted || committed
			}
		}
		pushed, moved, err := s.push(ctx, up)
		if err != nil {
			return nil, err
		}
		if !moved {
			rep.Pushed = pushed
			return rep, nil
		}
		if attempt == maxPushAttempts {
			return nil, fmt.Errorf("push to %s: the remote moved %d times while syncing: sync again", redact(up.remote), attempt)
		}
	}
}

// syncer holds what every step needs.
type syncer struct {
	opts   Options
	g      *git
	prefix string   // the vault's path from the top of the work tree: "" or "dir/sub/"
	ident  []string // committer identity for commands that commit, when git has none
	tip    string   // the remote branch's commit the last pull brought
}

func open(ctx context.Context, opts Options) (*syncer, error) {
	fi, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w", opts.Dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("vault %s: not a directory", opts.Dir)
	}
	g := newGit(opts.Dir, opts.Stderr)
	inside, err := g.out(ctx, "rev-parse", "--is-inside-work-tree")
	if ctx.Err() != nil {
		return nil, err
	}
	if err != nil || inside != "true" {
		return nil, notRepository(opts.Dir, err)
	}
	out, err := g.out(ctx, "rev-parse", "--show-toplevel", "--show-prefix")
	if err != nil {
		return nil, notRepository(opts.Dir, err)
	}
	top, prefix, _ := strings.Cut(out, "\n")
	if top == "" {
		return nil, notRepository(opts.Dir, nil)
	}
	g.top = top
	s := &syncer{opts: opts, g: g, prefix: prefix}
	if s.ident, err = s.identity(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func notRepository(dir string, err error) error {
	var ee *exitError
	if errors.As(err, &ee) && ee.tail != "" {
		return fmt.Errorf("%s: %w: %s", dir, ErrNotRepository, ee.tail)
	}
	return fmt.Errorf("%s: %w", dir, ErrNotRepository)
}

// identity returns the environment that gives commits an author and
// committer when git has none configured, so a fresh machine can sync.
func (s *syncer) identity(ctx context.Context) ([]string, error) {
	var env []string
	for _, who := range []string{"AUTHOR", "COMMITTER"} {
		_, err := s.g.run(ctx, call{args: []string{"var", "GIT_" + who + "_IDENT"}})
		if ctx.Err() != nil {
			return nil, err
		}
		if err != nil {
			env = append(env, "GIT_"+who+"_NAME=kr", "GIT_"+who+"_EMAIL=kr@localhost")
		}
	}
	return env, nil
}

// Clone clones the repository at url into dir (git clone), the first step
// of joining a shared vault. git's progress and prompts' text go to
// stderr. A failure leaves no dir behind when there was none before.
func Clone(ctx context.Context, url, dir string, stderr io.Writer) error {
	_, statErr := os.Lstat(dir)
	g := newGit(".", stderr)
	if _, err := g.run(ctx, call{args: []string{"clone", "-q", "--", url, dir}, network: true}); err != nil {
		if statErr != nil {
			os.RemoveAll(dir)
		}
		return fmt.Errorf("clone %s: %w", redact(url), err)
	}
	return nil
}
