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
	"strings"

	"github.com/kr-keyring/kr/internal/atomicfile"
)

// attributes are the lines of the vault's .gitattributes. Committed with
// the vault, they make every clone treat secrets as binary, leave the
// recipient files to kr's merge and never convert line endings, whatever
// core.autocrlf says: no clone needs its own configuration.
var attributes = []string{
	"*.age binary",
	"vault.json -text -merge",
	".age-recipients -text -merge",
}

const attributesFile = ".gitattributes"

const attributesHeader = "# kr: secrets are binary; recipient files are merged by kr, not git"

// ensureAttributes writes the vault's .gitattributes, or adds the lines it
// lacks to the user's.
func ensureAttributes(dir string) error {
	return ensureLines(filepath.Join(dir, attributesFile), attributesHeader, attributes)
}

// ensureIgnored writes the vault's .gitignore with lines, or adds the ones
// it lacks to the user's: files that are kr's own on each machine (the
// lock) never show as changes in git status.
func ensureIgnored(dir string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	return ensureLines(filepath.Join(dir, ".gitignore"), "# kr: files of this machine's kr, never shared", lines)
}

// ensureLines adds to the file at path, under header, the lines it lacks.
func ensureLines(path, header string, lines []string) error {
	// Anyone who can push can commit the file as a symlink to one of ours
	// (~/.ssh/id_ed25519): read through it, that file would be committed
	// and pushed in its place.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		what := "not a regular file"
		if fi.Mode()&fs.ModeSymlink != 0 {
			what = "a symlink"
		}
		return fmt.Errorf("%s is %s: kr follows no link in a vault; replace it with a plain file, then sync again", path, what)
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	have := map[string]bool{}
	for _, l := range bytes.Split(old, []byte("\n")) {
		have[string(bytes.TrimSpace(l))] = true
	}
	var add []byte
	for _, l := range lines {
		if !have[l] {
			add = append(add, l+"\n"...)
		}
	}
	if add == nil {
		return nil
	}
	data := bytes.Clone(old)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	if !have[header] {
		data = append(data, header+"\n"...)
	}
	data = append(data, add...)
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkedAttrs are the attributes asked of git for every secret: those
// that can make git change a file's bytes between the work tree and the
// repository (text, eol, filter, working-tree-encoding) or in a merge
// (merge), and diff, which only changes how git shows a file.
var checkedAttrs = []string{"text", "eol", "filter", "working-tree-encoding", "diff", "merge"}

// converts reports whether attr's value val lets git change a secret's
// bytes: anything but binary and unconverted.
func converts(attr, val string) bool {
	switch attr {
	case "text":
		return val != "unset"
	case "eol", "filter", "working-tree-encoding":
		return val != "unspecified" && val != "unset"
	case "merge":
		return val != "unset" && val != "unspecified" && val != "binary"
	}
	return false
}

// AttributesError is a sync stopped because the attributes in effect would
// let git change the bytes of a secret: a line anyone who can push may add
// to a .gitattributes ("*.age text eol=crlf"), or one in this clone's
// info/attributes or the user's core.attributesFile.
type AttributesError struct {
	Path    string   // the first secret affected, vault-relative
	Attrs   []string // what git would apply to it: "text=set", "eol=crlf"
	Sources []string // the lines that set them, "FILE:LINE: TEXT"
	Fetched string   // the fetched commit whose tree holds them, "" for this clone
}

func (e *AttributesError) Error() string {
	where := "the attributes in effect here"
	if e.Fetched != "" {
		where = "the attributes of the remote's branch (" + e.Fetched + ")"
	}
	src := "a source kr cannot name (see git check-attr -a " + e.Path + ")"
	if len(e.Sources) > 0 {
		src = strings.Join(e.Sources, "; ")
	}
	done := "nothing was committed or pushed"
	if e.Fetched != "" {
		done = "the clone was not rebased onto it and nothing was pushed"
	}
	return fmt.Sprintf("%s would let git change the bytes of %s (%s), so secrets would reach other clones mangled; %s. Set by: %s",
		where, e.Path, strings.Join(e.Attrs, " "), done, src)
}

// Hint is the next step, for the CLI's "hint:" line.
func (e *AttributesError) Hint() string {
	return "remove those lines (a secret must stay binary: '*.age binary', no text, eol, filter or working-tree-encoding), commit that where it came from"
}

// checkSecretAttributes asks git, in one check-attr, for the attributes of
// every secret in paths (from the top of the work tree) and refuses any
// that would convert bytes. With tree set, git reads the .gitattributes of
// that commit (through a scratch index: check-attr --source needs git 2.40)
// besides info/attributes and core.attributesFile; else the work tree's.
func (s *syncer) checkSecretAttributes(ctx context.Context, paths []string, tree string) error {
	var secrets []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, s.prefix); ok && s.opts.Resolver.Secret(rel) {
			secrets = append(secrets, p)
		}
	}
	if len(secrets) == 0 {
		return nil
	}
	args := append([]string{"check-attr", "-z", "--stdin"}, checkedAttrs...)
	var env []string
	if tree != "" {
		index, err := s.g.out(ctx, "rev-parse", "--git-path", "kr-attributes-index")
		if err != nil {
			return err
		}
		index = s.abs(index)
		defer os.Remove(index)
		env = []string{"GIT_INDEX_FILE=" + index}
		if _, err := s.g.run(ctx, call{args: []string{"read-tree", tree}, env: env}); err != nil {
			return err
		}
		args = append([]string{"check-attr", "--cached", "-z", "--stdin"}, checkedAttrs...)
	}
	var in []byte
	for _, p := range secrets {
		in = append(append(in, p...), 0)
	}
	out, err := s.g.run(ctx, call{args: args, env: env, stdin: in})
	if err != nil {
		return fmt.Errorf("ask git for the attributes of the secrets: %w", err)
	}
	f := strings.Split(string(out), "\x00")
	var bad *AttributesError
	for i := 0; i+2 < len(f); i += 3 {
		path, attr, val := f[i], f[i+1], f[i+2]
		if !converts(attr, val) {
			continue
		}
		if bad == nil {
			bad = &AttributesError{Path: strings.TrimPrefix(path, s.prefix)}
		}
		if bad.Path == strings.TrimPrefix(path, s.prefix) {
			bad.Attrs = append(bad.Attrs, attr+"="+val)
		}
	}
	if bad == nil {
		return nil
	}
	if tree != "" {
		bad.Fetched = shortID(tree)
	}
	bad.Sources = s.attributeSources(ctx, tree)
	return bad
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// attributeSources names the lines that set a converting attribute, in
// every place git reads attributes from: each .gitattributes of the work
// tree (or of tree, with the commit that last changed it), info/attributes
// and core.attributesFile. A line's pattern is not matched against the
// secrets: it is named if it sets such an attribute at all.
func (s *syncer) attributeSources(ctx context.Context, tree string) []string {
	var out []string
	add := func(name, note string, data []byte) {
		for i, line := range strings.Split(string(data), "\n") {
			if convertingLine(line) {
				out = append(out, fmt.Sprintf("%s:%d: %s%s", name, i+1, strings.TrimSpace(line), note))
			}
		}
	}
	if tree == "" {
		files, _ := s.lsFiles(ctx, []string{"--cached", "--others", "--exclude-standard"}, []string{":(top,glob)**/" + attributesFile})
		for _, f := range files {
			if b, err := os.ReadFile(s.abs(f)); err == nil {
				add(f, "", b)
			}
		}
	} else {
		list, _ := s.g.run(ctx, call{args: []string{"ls-tree", "-r", "-z", "--name-only", "--full-tree", tree}})
		for _, f := range splitZ(string(list)) {
			if path.Base(f) != attributesFile {
				continue
			}
			b, err := s.g.run(ctx, call{args: []string{"cat-file", "blob", tree + ":" + f}})
			if err != nil {
				continue
			}
			note := ""
			if who, err := s.g.out(ctx, "log", "-1", "--format=%h by %an", tree, "--", f); err == nil && who != "" {
				note = " (committed in " + who + ")"
			}
			add(f, note, b)
		}
	}
	if p, err := s.g.out(ctx, "rev-parse", "--git-path", "info/attributes"); err == nil {
		if b, err := os.ReadFile(s.abs(p)); err == nil {
			add(p, "", b)
		}
	}
	// git's default for core.attributesFile is $XDG_CONFIG_HOME/git/attributes.
	global, err := s.g.out(ctx, "config", "--path", "--get", "core.attributesFile")
	if err != nil || global == "" {
		global = ""
		if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
			global = filepath.Join(x, "git", "attributes")
		} else if h, err := os.UserHomeDir(); err == nil {
			global = filepath.Join(h, ".config", "git", "attributes")
		}
	}
	if global != "" {
		if b, err := os.ReadFile(global); err == nil {
			add(global, "", b)
		}
	}
	return out
}

// convertingLine reports whether a line of an attributes file sets an
// attribute that converts bytes (converts), whatever its pattern.
func convertingLine(line string) bool {
	f := strings.Fields(line)
	if len(f) < 2 || strings.HasPrefix(f[0], "#") {
		return false
	}
	for _, a := range f[1:] {
		name, val, hasVal := strings.Cut(a, "=")
		switch {
		case strings.HasPrefix(a, "-") || strings.HasPrefix(a, "!"):
			continue
		case !hasVal && (name == "text" || name == "merge"):
			return true
		case hasVal && (name == "text" || name == "eol" || name == "filter" || name == "working-tree-encoding"):
			return true
		case hasVal && name == "merge" && val != "binary":
			return true
		}
	}
	return false
}
