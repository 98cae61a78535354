package vaultgit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kr-keyring/kr/internal/atomicfile"
)

// inProgress names the files git keeps while an operation waits for the user.
var inProgress = []struct{ path, what, abort string }{
	{"rebase-merge", "a rebase", "git rebase --abort"},
	{"rebase-apply", "a rebase", "git rebase --abort"},
	{"MERGE_HEAD", "a merge", "git merge --abort"},
	{"CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --abort"},
	{"REVERT_HEAD", "a revert", "git revert --abort"},
}

// refuseInProgress refuses a work tree where a rebase, merge, cherry-pick
// or revert waits to be finished: a sync would mix its commits into it.
func (s *syncer) refuseInProgress(ctx context.Context) error {
	args := []string{"rev-parse"}
	for _, p := range inProgress {
		args = append(args, "--git-path", p.path)
	}
	out, err := s.g.out(ctx, args...)
	if err != nil {
		return err
	}
	paths := strings.Split(out, "\n")
	if len(paths) != len(inProgress) {
		return fmt.Errorf("git rev-parse --git-path: %d paths for %d names", len(paths), len(inProgress))
	}
	for i, p := range paths {
		if _, err := os.Lstat(s.abs(p)); err == nil {
			return fmt.Errorf("%s is in progress in %s: finish it or run %s, then sync again", inProgress[i].what, s.g.top, inProgress[i].abort)
		}
	}
	unmerged, err := s.g.out(ctx, "ls-files", "-u")
	if err != nil {
		return err
	}
	if unmerged != "" {
		return fmt.Errorf("the index of %s has unmerged paths: resolve them and commit, then sync again", s.g.top)
	}
	return nil
}

// abs makes a path git printed (relative to the top of the work tree, or
// absolute) absolute.
func (s *syncer) abs(p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.g.top, p)
}

// branch returns the checked-out branch: a detached HEAD has nowhere to push.
func (s *syncer) branch(ctx context.Context) (string, error) {
	ref, err := s.g.out(ctx, "symbolic-ref", "-q", "HEAD")
	if exitCode(err) == 1 {
		return "", fmt.Errorf("HEAD is detached in %s: check out a branch, then sync again", s.g.top)
	}
	if err != nil {
		return "", err
	}
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", fmt.Errorf("HEAD of %s is %s, not a branch", s.g.top, ref)
	}
	return b, nil
}

// upstream is where the branch is pulled from and pushed to.
type upstream struct {
	remote     string // "" when the repository has no remote
	ref        string // the branch on the remote: refs/heads/...
	configured bool   // branch.<name>.remote and .merge are set
	known      bool   // the remote had the branch at the last fetch
}

func (s *syncer) upstream(ctx context.Context, branch string) (upstream, error) {
	remote, rerr := s.config(ctx, "branch."+branch+".remote")
	merge, merr := s.config(ctx, "branch."+branch+".merge")
	if err := errors.Join(rerr, merr); err != nil {
		return upstream{}, err
	}
	if remote != "" && merge != "" {
		// A clone of an empty repository has its upstream configured
		// before the remote has the branch; only a remote-tracking branch
		// says the remote had it at the last fetch.
		tracking, err := s.revParse(ctx, "@{upstream}")
		if err != nil {
			return upstream{}, err
		}
		return upstream{remote: remote, ref: merge, configured: true, known: tracking != ""}, nil
	}
	out, err := s.g.out(ctx, "remote")
	if err != nil {
		return upstream{}, err
	}
	remotes := strings.Fields(out)
	switch {
	case len(remotes) == 0:
		return upstream{}, nil
	case len(remotes) == 1:
		remote = remotes[0]
	case slices.Contains(remotes, "origin"):
		remote = "origin"
	default:
		return upstream{}, fmt.Errorf("branch %s has no upstream and %s has several remotes (%s): choose one with git branch --set-upstream-to", branch, s.g.top, strings.Join(remotes, ", "))
	}
	return upstream{remote: remote, ref: "refs/heads/" + branch}, nil
}

// config returns a setting's value, "" when it is not set.
func (s *syncer) config(ctx context.Context, key string) (string, error) {
	v, err := s.g.out(ctx, "config", "--get", key)
	if exitCode(err) == 1 {
		return "", nil
	}
	return v, err
}

func (s *syncer) setUpstream(ctx context.Context, branch string, up upstream) error {
	if _, err := s.g.out(ctx, "config", "branch."+branch+".remote", up.remote); err != nil {
		return err
	}
	_, err := s.g.out(ctx, "config", "branch."+branch+".merge", up.ref)
	return err
}

// remoteHasBranch asks the remote whether it has the branch yet.
func (s *syncer) remoteHasBranch(ctx context.Context, up upstream) (bool, error) {
	out, err := s.g.run(ctx, call{args: []string{"ls-remote", "--exit-code", up.remote, up.ref}, network: true})
	if exitCode(err) == 2 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ask %s for %s: %w", redact(up.remote), up.ref, err)
	}
	// The pattern also matches refs that end with it; only the exact one counts.
	for _, line := range strings.Split(string(out), "\n") {
		if _, ref, ok := strings.Cut(strings.TrimRight(line, "\r"), "\t"); ok && ref == up.ref {
			return true, nil
		}
	}
	return false, nil
}

// publish pushes the branch to a remote that does not have it yet and
// makes it the upstream.
func (s *syncer) publish(ctx context.Context, up upstream) error {
	if _, err := s.g.run(ctx, call{args: []string{"push", "-u", up.remote, "HEAD:" + up.ref}, network: true}); err != nil {
		return fmt.Errorf("publish to %s: %w", redact(up.remote), err)
	}
	return nil
}

// vaultSpec is the pathspec of the whole vault.
func (s *syncer) vaultSpec() string {
	if s.prefix == "" {
		return ":(top)"
	}
	return ":(top,literal)" + strings.TrimSuffix(s.prefix, "/")
}

// pathSpec is the pathspec of one file, given from the top of the work tree.
func pathSpec(full string) string {
	return ":(top,literal)" + full
}

// commitSpecs are the vault's files kr owns (Include) less the excluded
// ones.
func (s *syncer) commitSpecs() []string {
	var specs []string
	for _, pat := range s.opts.Include {
		specs = append(specs, ":(top,glob)"+globEscape(s.prefix)+pat)
	}
	return append(specs, s.excludeSpecs()...)
}

func (s *syncer) excludeSpecs() []string {
	var specs []string
	for _, pat := range s.opts.Exclude {
		specs = append(specs, ":(top,exclude,glob)"+globEscape(s.prefix)+unexact(pat))
	}
	return specs
}

// strangerSpecs are the vault's paths that are neither kr's (Include) nor
// excluded: what sync leaves alone.
func (s *syncer) strangerSpecs() []string {
	specs := []string{s.vaultSpec()}
	for _, pat := range s.opts.Include {
		specs = append(specs, ":(top,exclude,glob)"+globEscape(s.prefix)+unexact(pat))
	}
	return append(specs, s.excludeSpecs()...)
}

// strays finds the files in the vault directory that sync leaves out: the
// untracked ones (not ignored), and the tracked ones an older kr or a
// person committed. Each is reported the first time this clone sees it
// (the list is kept in the git directory, per clone). A tracked stray
// with uncommitted changes stops a sync that will rebase: git would refuse
// the dirty tree after kr's commit.
func (s *syncer) strays(ctx context.Context, rebases bool, rep *Report) error {
	specs := s.strangerSpecs()
	untracked, err := s.lsFiles(ctx, []string{"--others", "--exclude-standard"}, specs)
	if err != nil {
		return err
	}
	tracked, err := s.lsFiles(ctx, nil, specs)
	if err != nil {
		return err
	}
	if rebases && len(tracked) > 0 {
		out, err := s.g.run(ctx, call{args: slices.Concat([]string{"diff", "--name-only", "-z", "HEAD", "--"}, specs)})
		if err != nil && exitCode(err) != 128 { // 128: an unborn branch
			return err
		}
		if dirty := splitZ(string(out)); len(dirty) > 0 {
			return fmt.Errorf("%s is not kr's, git tracks it and it has uncommitted changes: sync commits only the vault's own files and would leave it in the way of the rebase; commit it or restore it with git, then sync again", dirty[0])
		}
	}
	seenPath, err := s.g.out(ctx, "rev-parse", "--git-path", "kr-not-synced")
	if err != nil {
		return err
	}
	seenPath = s.abs(seenPath)
	old, err := os.ReadFile(seenPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	seen := map[string]bool{}
	for _, p := range splitZ(string(old)) {
		seen[p] = true
	}
	var now []byte
	for _, list := range []struct {
		paths []string
		out   *[]string
	}{{untracked, &rep.NotSynced}, {tracked, &rep.TrackedStrays}} {
		for _, p := range list.paths {
			rel := strings.TrimPrefix(p, s.prefix)
			now = append(append(now, p...), 0)
			if !seen[p] {
				*list.out = append(*list.out, rel)
			}
		}
	}
	if string(now) == string(old) {
		return nil
	}
	if len(now) == 0 {
		if err := os.Remove(seenPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.Write(seenPath, now)
}

// lsFiles runs git ls-files -z with opts over specs.
func (s *syncer) lsFiles(ctx context.Context, opts, specs []string) ([]string, error) {
	out, err := s.g.run(ctx, call{args: slices.Concat([]string{"ls-files", "-z"}, opts, []string{"--"}, specs)})
	if err != nil {
		return nil, err
	}
	return splitZ(string(out)), nil
}

// splitZ splits NUL-terminated records.
func splitZ(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "\x00") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// unexact writes a pattern without wildcards (".lock") with a character
// class for its last character (".loc[k]"), which matches the same: git add
// counts an exclude pathspec that names a path exactly as naming it, and
// refuses it when a .gitignore ignores that path ("*.lock" is common).
func unexact(pat string) string {
	if pat == "" || strings.ContainsAny(pat, `*?[\`) || strings.HasSuffix(pat, "/") {
		return pat
	}
	// wildmatch compares bytes: only a one-byte character goes in the class.
	for i := len(pat) - 1; i >= 0; i-- {
		if c := pat[i]; c < utf8.RuneSelf && c != '/' && c != ']' {
			return pat[:i] + "[" + string(c) + "]" + pat[i+1:]
		}
	}
	return pat
}

// globEscape quotes the characters git's wildmatch treats specially, so a
// vault folder named "a[1]" matches only itself.
func globEscape(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// noCRLF keeps git from converting line endings in what it stages, even
// before the vault's .gitattributes is in the index: core.autocrlf=true
// would otherwise corrupt age headers.
var noCRLF = []string{"-c", "core.autocrlf=false"}

// untrackExcluded stops tracking the vault's excluded files that someone
// committed (git add -f, a clone without the vault's .gitignore): kr
// deletes its stale temp files, and a deletion that commitVault may not
// commit would leave the tree dirty and every rebase refused. The removal
// is a commit of its own, made from an index that holds nothing else.
func (s *syncer) untrackExcluded(ctx context.Context) (bool, error) {
	if len(s.opts.Exclude) == 0 {
		return false, nil
	}
	if head, err := s.revParse(ctx, "HEAD"); err != nil || head == "" {
		return false, err // an unborn branch has committed nothing yet
	}
	specs := make([]string, len(s.opts.Exclude))
	for i, pat := range s.opts.Exclude {
		specs[i] = ":(top,glob)" + globEscape(s.prefix) + pat
	}
	out, err := s.g.run(ctx, call{args: slices.Concat([]string{"ls-files", "-z", "--"}, specs)})
	if err != nil {
		return false, err
	}
	var tracked, paths []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			tracked = append(tracked, pathSpec(p))
			paths = append(paths, p)
		}
	}
	if len(tracked) == 0 {
		return false, nil
	}
	staged, err := s.g.ok(ctx, "diff", "--cached", "--quiet", "HEAD")
	if err != nil {
		return false, err
	}
	if !staged {
		return false, fmt.Errorf("git tracks kr's own file %s, and the index of %s holds other changes: commit them, then sync again", paths[0], s.g.top)
	}
	if _, err := s.g.run(ctx, call{args: slices.Concat([]string{"rm", "-q", "--cached", "--"}, tracked)}); err != nil {
		return false, fmt.Errorf("stop tracking kr's own files: %w", err)
	}
	args := slices.Concat(noCRLF, []string{"commit", "-q", "-m", "kr: stop tracking files of one machine's kr"})
	if _, err := s.g.run(ctx, call{args: args, env: s.ident}); err != nil {
		return false, fmt.Errorf("stop tracking kr's own files: %w", err)
	}
	return true, nil
}

// commitVault stages every change in the vault except the excluded paths
// and commits them alone; it reports whether there was anything to commit.
func (s *syncer) commitVault(ctx context.Context, msg string) (bool, error) {
	// Named file by file: git add and git commit refuse a pathspec that
	// matches nothing (a vault with no scope file yet), ls-files does not.
	own, err := s.lsFiles(ctx, []string{"--cached", "--others", "--exclude-standard"}, s.commitSpecs())
	if err != nil || len(own) == 0 {
		return false, err
	}
	if err := s.checkSecretAttributes(ctx, own, ""); err != nil {
		return false, err
	}
	if _, err := s.g.run(ctx, call{args: slices.Concat(noCRLF, []string{"add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul"}), stdin: literalSpecs(own)}); err != nil {
		return false, fmt.Errorf("stage the vault: %w", err)
	}
	out, err := s.g.run(ctx, call{args: []string{"diff", "--cached", "--name-only", "-z", "--no-renames", "--", s.vaultSpec()}})
	if err != nil {
		return false, err
	}
	var changed []string
	for _, p := range splitZ(string(out)) {
		if slices.Contains(own, p) {
			changed = append(changed, p)
		}
	}
	if len(changed) == 0 {
		return false, nil
	}
	args := slices.Concat(noCRLF, []string{"commit", "-q", "-m", msg, "--pathspec-from-file=-", "--pathspec-file-nul"})
	if _, err := s.g.run(ctx, call{args: args, env: s.ident, stdin: literalSpecs(changed)}); err != nil {
		return false, fmt.Errorf("commit the vault: %w", err)
	}
	return true, nil
}

// literalSpecs makes paths from the top of the work tree into NUL-separated
// literal pathspecs, for --pathspec-from-file.
func literalSpecs(paths []string) []byte {
	var b []byte
	for _, p := range paths {
		b = append(append(b, pathSpec(p)...), 0)
	}
	return b
}

// refuseIgnored refuses a vault whose secrets or recipient files git
// ignores (a "secrets/" line in a .gitignore): git add would leave them out
// without a word, and the team would never see them. Other ignored files
// (.DS_Store) are the user's business.
func (s *syncer) refuseIgnored(ctx context.Context) error {
	args := slices.Concat([]string{"ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--"}, s.commitSpecs())
	out, err := s.g.run(ctx, call{args: args})
	if err != nil {
		return err
	}
	r := s.opts.Resolver
	ignored := ""
	for _, p := range strings.Split(string(out), "\x00") {
		rel, ok := strings.CutPrefix(p, s.prefix)
		if ok && (r.Secret(rel) || r.Mergeable(rel) || rel == attributesFile) {
			ignored = rel
			break
		}
	}
	if ignored == "" {
		// The vault's .gitattributes may not be written yet.
		yes, err := s.g.ok(ctx, "check-ignore", "-q", "--", s.prefix+attributesFile)
		if err != nil {
			return err
		}
		if yes {
			ignored = attributesFile
		}
	}
	if ignored != "" {
		return fmt.Errorf("%s is ignored by git (a .gitignore or info/exclude names it): sync would leave it out; stop ignoring the vault's files, then sync again", ignored)
	}
	return nil
}

// refuseDirtyOutside refuses uncommitted changes to tracked files outside
// the vault: git rebase would refuse them after the vault's commit.
func (s *syncer) refuseDirtyOutside(ctx context.Context) error {
	if s.prefix == "" {
		return nil
	}
	outside := []string{":(top)", ":(top,exclude,literal)" + strings.TrimSuffix(s.prefix, "/")}
	for _, cached := range []bool{false, true} {
		args := []string{"diff", "--quiet"}
		if cached {
			args = append(args, "--cached")
		}
		clean, err := s.g.ok(ctx, append(append(args, "--"), outside...)...)
		if err != nil {
			return err
		}
		if !clean {
			return fmt.Errorf("%s has uncommitted changes outside the vault: commit or stash them, then sync again", s.g.top)
		}
	}
	return nil
}

// pull fetches the remote's branch and rebases the local commits onto it,
// settling the conflicts the resolver can; any other failure aborts the
// rebase. It runs git fetch and git rebase rather than git pull --rebase so
// that only the fetch shares kr's process group (for prompts) and the
// rebase, with its hooks, can be stopped as a whole.
func (s *syncer) pull(ctx context.Context, up upstream, rep *Report) error {
	pre, err := s.revParse(ctx, "HEAD")
	if err != nil {
		return err
	}
	if pre == "" {
		// The vault's .gitattributes is always committed first.
		return fmt.Errorf("branch of %s has no commit to rebase", s.g.top)
	}
	if _, err := s.g.run(ctx, call{args: []string{"fetch", up.remote, up.ref}, network: true}); err != nil {
		return fmt.Errorf("fetch from %s: %w", redact(up.remote), err)
	}
	tip, err := s.revParse(ctx, "FETCH_HEAD")
	if err != nil {
		return err
	}
	if tip == "" {
		return fmt.Errorf("git fetch %s %s left no FETCH_HEAD", redact(up.remote), up.ref)
	}
	// The rebase checks out the fetched tree's attributes, with upstream's
	// secrets and the local ones replayed on top: under those attributes
	// every one of them must stay binary too.
	var files []string
	for _, rev := range []string{tip, pre} {
		out, err := s.g.run(ctx, call{args: []string{"ls-tree", "-r", "-z", "--name-only", "--full-tree", rev}})
		if err != nil {
			return err
		}
		files = append(files, splitZ(string(out))...)
	}
	slices.Sort(files)
	if err := s.checkSecretAttributes(ctx, slices.Compact(files), tip); err != nil {
		return err
	}
	if err := s.rebase(ctx, tip, rep); err != nil {
		return err
	}
	s.tip = tip
	n, err := s.g.out(ctx, "rev-list", "--count", tip, "^"+pre)
	if err != nil {
		return err
	}
	pulled, err := strconv.Atoi(n)
	if err != nil {
		return fmt.Errorf("git rev-list --count: %q: %w", n, err)
	}
	rep.Pulled += pulled
	return nil
}

// rebase replays the local commits onto tip; whatever stops it and cannot
// be settled aborts it.
func (s *syncer) rebase(ctx context.Context, tip string, rep *Report) error {
	_, err := s.g.run(ctx, call{args: []string{"rebase", "--merge", "--no-autostash", tip}, env: s.ident})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return s.abort(ctx, err)
	}
	rebasing, rerr := s.rebasing(ctx)
	if rerr != nil {
		return s.abort(ctx, errors.Join(err, rerr))
	}
	if !rebasing {
		return fmt.Errorf("rebase onto the remote's branch: %w", err)
	}
	if err := s.resolveRebase(ctx, rep, err); err != nil {
		return s.abort(ctx, err)
	}
	return nil
}

// revParse returns the commit rev names, "" when there is none (an unborn
// branch).
func (s *syncer) revParse(ctx context.Context, rev string) (string, error) {
	id, err := s.g.out(ctx, "rev-parse", "-q", "--verify", rev+"^{commit}")
	if exitCode(err) == 1 {
		return "", nil
	}
	return id, err
}

// rebasing reports whether a rebase is in progress.
func (s *syncer) rebasing(ctx context.Context) (bool, error) {
	out, err := s.g.out(ctx, "rev-parse", "--git-path", "rebase-merge", "--git-path", "rebase-apply")
	if err != nil {
		return false, err
	}
	for _, p := range strings.Split(out, "\n") {
		if _, err := os.Lstat(s.abs(p)); err == nil {
			return true, nil
		}
	}
	return false, nil
}

// abort undoes a rebase in progress, even when ctx is done, and returns
// cause with what the clone now holds.
func (s *syncer) abort(ctx context.Context, cause error) error {
	// Leaving a half-merged tree is worse than taking a moment longer.
	bg := context.WithoutCancel(ctx)
	rebasing, err := s.rebasing(bg)
	if err != nil {
		return fmt.Errorf("%w (and could not tell whether a rebase is left in %s: %v)", cause, s.g.top, err)
	}
	if !rebasing {
		return cause
	}
	if _, err := s.g.out(bg, "rebase", "--abort"); err != nil {
		return fmt.Errorf("%w (and git rebase --abort failed in %s: %v)", cause, s.g.top, err)
	}
	if ctx.Err() != nil || errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return fmt.Errorf("%w: the clone is as it was before the pull", cause)
	}
	return fmt.Errorf("%w: the sync is undone, the clone is as it was before the pull (the vault's changes stay committed locally); merge by hand with git pull --rebase, then sync again", cause)
}

// push pushes the merged branch. moved reports a push refused because
// the remote's branch moved since the pull.
func (s *syncer) push(ctx context.Context, up upstream) (pushed, moved bool, err error) {
	ahead, err := s.g.out(ctx, "rev-list", "--count", s.tip+"..HEAD")
	if err != nil {
		return false, false, err
	}
	if ahead == "0" {
		return false, false, nil
	}
	_, perr := s.g.run(ctx, call{args: []string{"push", up.remote, "HEAD:" + up.ref}, network: true})
	if perr == nil {
		return true, false, nil
	}
	if ctx.Err() != nil {
		return false, false, perr
	}
	perr = fmt.Errorf("push to %s: %w", redact(up.remote), perr)
	// Whether the remote moved is read from its branch, not from git's words.
	if _, err := s.g.run(ctx, call{args: []string{"fetch", up.remote, up.ref}, network: true}); err != nil {
		return false, false, perr
	}
	tip, err := s.revParse(ctx, "FETCH_HEAD")
	if err != nil || tip == "" {
		return false, false, perr
	}
	contained, err := s.g.ok(ctx, "merge-base", "--is-ancestor", tip, "HEAD")
	if err != nil || contained {
		return false, false, perr
	}
	return false, true, nil
}
