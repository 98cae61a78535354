package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// gitHelper is one credential.helper (or credential.<url>.helper) line of
// git's configuration, as `git config --show-scope --show-origin` names it.
type gitHelper struct {
	Scope  string // system, global, local, worktree, command
	Origin string // file:PATH, command line:, ...
	URL    string // the <url> of credential.<url>.helper; "" for all URLs
	Value  string // "" is a reset: git forgets the helpers before it
}

func (h gitHelper) String() string {
	where := h.Scope
	if f, ok := strings.CutPrefix(h.Origin, "file:"); ok {
		where += ", " + f
	} else if h.Origin != "" {
		where += ", " + strings.TrimSuffix(h.Origin, ":")
	}
	if h.URL != "" {
		return fmt.Sprintf("credential.%s.helper %q (%s)", h.URL, h.Value, where)
	}
	return fmt.Sprintf("credential.helper %q (%s)", h.Value, where)
}

// userWide reports whether the line applies in every repository: system
// and global scope, with what they [include]. kr setup git changes those;
// a repository's own lines are named, not changed.
func (h gitHelper) userWide() bool { return h.Scope == "system" || h.Scope == "global" }

// isKr reports whether the line names kr.
func (h gitHelper) isKr() bool { return h.Value == gitHelperName }

// plaintext reports whether the helper keeps passwords unencrypted: store
// writes them to ~/.git-credentials; cache keeps them in a daemon's memory
// for all of the user's processes to ask.
func (h gitHelper) plaintext() bool {
	f := strings.Fields(h.Value)
	if len(f) == 0 {
		return false
	}
	if strings.HasPrefix(f[0], "!") {
		return strings.Contains(h.Value, "credential-store") || strings.Contains(h.Value, "credential-cache")
	}
	name := strings.TrimPrefix(filepath.Base(f[0]), "git-credential-")
	return name == "store" || name == "cache"
}

// readGitHelpers reads every credential helper line of git's effective
// configuration, in the order git reads them: system, global (and the
// files they include, where they include them), then the repository's.
func readGitHelpers(ctx context.Context, git string) ([]gitHelper, error) {
	cmd := exec.CommandContext(ctx, git, "config", "--null", "--show-scope", "--show-origin",
		"--get-regexp", `^credential\.(.*\.)?helper$`)
	cmd.Env = agentEnv(os.Environ()) // no passphrase of kr's reaches git
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
		return nil, nil // none set
	}
	if err != nil {
		return nil, fmt.Errorf("git config --get-regexp credential helpers: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseGitHelpers(out), nil
}

// parseGitHelpers reads `git config --null --show-scope --show-origin
// --get-regexp` output: scope NUL origin NUL key [LF value] NUL, repeated.
func parseGitHelpers(out []byte) []gitHelper {
	f := strings.Split(string(out), "\x00")
	var hs []gitHelper
	for i := 0; i+2 < len(f); i += 3 {
		key, value, hasValue := strings.Cut(f[i+2], "\n")
		if !hasValue {
			continue // "helper" with no "=": git refuses to use it
		}
		h := gitHelper{Scope: f[i], Origin: f[i+1], Value: value}
		if mid, ok := strings.CutPrefix(key, "credential."); ok {
			h.URL = strings.TrimSuffix(strings.TrimSuffix(mid, "helper"), ".")
		}
		hs = append(hs, h)
	}
	return hs
}

// activeHelpers returns the user-wide lines git still uses after its
// resets: an empty value empties the list read so far (for every URL when
// it is credential.helper, for its own URL when it is credential.<url>.helper).
func activeHelpers(hs []gitHelper) []gitHelper {
	var list []gitHelper
	for _, h := range hs {
		if !h.userWide() {
			continue
		}
		if h.Value == "" {
			kept := list[:0]
			for _, l := range list {
				if h.URL != "" && l.URL != h.URL {
					kept = append(kept, l)
				}
			}
			list = kept
			continue
		}
		list = append(list, h)
	}
	return list
}

// gitGlobalFile is the file `git config --global` writes, found as git
// finds it (in kr's environment, which git inherits): $GIT_CONFIG_GLOBAL;
// else ~/.gitconfig, unless only the XDG file exists.
func gitGlobalFile() (string, error) {
	if p := os.Getenv("GIT_CONFIG_GLOBAL"); p != "" {
		return p, nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		home = h
	}
	user := filepath.Join(home, ".gitconfig")
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(home, ".config")
	}
	xdg = filepath.Join(xdg, "git", "config")
	if _, err := os.Stat(user); err != nil {
		if _, err := os.Stat(xdg); err == nil {
			return xdg, nil
		}
	}
	return user, nil
}

// gitConfigBackup holds the global file as it was, to put back when a
// change did not end where it should.
type gitConfigBackup struct {
	path string
	data []byte // nil: there was no file
}

func backupGitConfig() (*gitConfigBackup, error) {
	path, err := gitGlobalFile()
	if err != nil {
		return nil, err
	}
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return &gitConfigBackup{path: path, data: data}, nil
}

func (b *gitConfigBackup) restore() error {
	if b.data == nil {
		target, err := linkTarget(b.path)
		if err != nil {
			return err
		}
		if err := os.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeConfigFile(b.path, b.data)
}

// valuePattern is a git config value-pattern (POSIX extended regex)
// matching exactly v.
func valuePattern(v string) string { return "^" + regexp.QuoteMeta(v) + "$" }
