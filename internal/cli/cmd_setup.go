package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
)

// newSetupCmd groups the commands that configure a client to use kr as
// its credential helper.
func newSetupCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Configure git (and other clients) to use kr as their credential helper",
	}
	cmd.AddCommand(newSetupGitCmd(app))
	addToolSetupCmds(cmd, app)
	return cmd
}

func newSetupGitCmd(app *App) *cobra.Command {
	var apply, replace bool
	cmd := &cobra.Command{
		Use:   "git",
		Short: "Make kr git's credential helper",
		Long: `Print the configuration that makes kr git's credential helper: git runs
git-credential-kr, which must be on PATH (a link to kr, or a copy on
Windows), and the global credential.helper names kr. With --apply, make the
link next to kr when git-credential-kr is not on PATH and add kr's
credential.helper line; running it again changes nothing. kr reads git's
whole configuration (system, global and the files they include). A helper
that keeps passwords in plain text (store, cache) is turned off by an empty
credential.helper line before kr's, which makes git forget the helpers
read before it, and kr says so; other helpers are named and left alone
unless --replace is given, which turns them off the same way. Empty lines
already there are kept. With --vault DIR and --apply, git-credential-kr may
store logins in that vault even when other members read it (a team's shared
deploy logins); without it a shared vault takes none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if replace {
				apply = true
			}
			if err := app.setupGit(cmd.Context(), apply, replace); err != nil {
				return err
			}
			return app.setupHelperVault(cmd, apply)
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "apply the configuration")
	cmd.Flags().BoolVar(&replace, "replace", false, "with --apply: remove other credential helpers")
	return cmd
}

// gitHelperName is the value of credential.helper: git runs
// "git-credential-" + it from PATH.
const gitHelperName = "kr"

func (a *App) setupGit(ctx context.Context, apply, replace bool) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return withHint(errors.New("git is not on PATH"), "install git first")
	}
	all, err := readGitHelpers(ctx, git)
	if err != nil {
		return err
	}
	active := activeHelpers(all)
	var others, plain, kept []gitHelper
	hasKr := false
	for _, h := range active {
		switch {
		case h.isKr() && h.URL == "":
			hasKr = true
		case h.plaintext():
			plain = append(plain, h)
			others = append(others, h)
		default:
			kept = append(kept, h) // asked too; left unless --replace
			others = append(others, h)
		}
	}
	configured := hasKr && len(others) == 0
	// An empty line before kr's turns off every helper git read before it.
	// Plain-text helpers are always turned off; the others with --replace.
	reset := len(plain) > 0 || replace && len(kept) > 0
	linkName := "git-credential-kr"
	if runtime.GOOS == "windows" {
		linkName += ".exe"
	}
	onPath, _ := exec.LookPath("git-credential-kr")
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find kr's own executable: %w", err)
	}
	link := filepath.Join(filepath.Dir(self), linkName)

	out := a.IO.Out
	if !apply {
		fmt.Fprintln(out, "# kr as git's credential helper:")
		if onPath == "" {
			if runtime.GOOS == "windows" {
				fmt.Fprintf(out, "copy %q %q\n", self, link)
			} else {
				fmt.Fprintf(out, "ln -s %q %q\n", self, link)
			}
		} else {
			fmt.Fprintf(out, "# git-credential-kr is on PATH: %s\n", onPath)
		}
		for _, h := range plain {
			fmt.Fprintf(out, "# %s keeps passwords in plain text: an empty credential.helper before kr's turns it off\n", h)
		}
		for _, h := range kept {
			fmt.Fprintf(out, "# %s: git asks it too (kr setup git --replace turns it off)\n", h)
		}
		if configured {
			fmt.Fprintln(out, "# already configured")
			return nil
		}
		if reset || len(kept) > 0 {
			fmt.Fprintln(out, `git config --global --add credential.helper ""`)
		}
		fmt.Fprintf(out, "git config --global --add credential.helper %s\n", gitHelperName)
		return nil
	}

	if onPath == "" {
		if _, err := os.Lstat(link); err != nil {
			if err := linkHelper(self, link); err != nil {
				return withHint(fmt.Errorf("make %s: %w", link, err), "link or copy kr as git-credential-kr into a directory on PATH")
			}
			fmt.Fprintf(a.IO.ErrOut, "kr: made %s\n", link)
		}
		if dir := filepath.Dir(link); !onPathDir(a.Getenv("PATH"), dir) {
			fmt.Fprintf(a.IO.ErrOut, "kr: hint: %s is not on PATH: add it, or git will not find git-credential-kr\n", dir)
		}
	}
	a.noteRepoHelpers(all)
	if configured {
		fmt.Fprintln(a.IO.ErrOut, "kr: git already uses kr as its credential helper")
		return nil
	}
	if len(kept) > 0 && !replace {
		names := make([]string, len(kept))
		for i, h := range kept {
			names[i] = h.String()
		}
		return withHint(fmt.Errorf("%s already set; nothing was changed", strings.Join(names, ", ")),
			"'kr setup git --replace' turns it off and makes kr git's helper; or add kr after it yourself: git config --global --add credential.helper kr")
	}
	backup, err := backupGitConfig()
	if err != nil {
		return err
	}
	// kr's line moves after the reset: git config --add writes after the
	// last credential.helper of the file. Reset lines stay where they are.
	if hasKr {
		if err := runGit(ctx, git, "config", "--global", "--unset-all", "credential.helper", valuePattern(gitHelperName)); err != nil && !isGitExit(err, 5) {
			return err
		}
	}
	if reset {
		if err := runGit(ctx, git, "config", "--global", "--add", "credential.helper", ""); err != nil {
			return a.undoGit(backup, err)
		}
	}
	if err := runGit(ctx, git, "config", "--global", "--add", "credential.helper", gitHelperName); err != nil {
		return a.undoGit(backup, err)
	}
	// Read back what git will do now: kr, and nothing that outlived the
	// reset (a helper in a file included after kr's line).
	after, err := readGitHelpers(ctx, git)
	if err != nil {
		return a.undoGit(backup, err)
	}
	krActive := false
	var left []string
	for _, h := range activeHelpers(after) {
		if h.isKr() && h.URL == "" {
			krActive = true
		} else {
			left = append(left, h.String())
		}
	}
	if !krActive || len(left) > 0 {
		err := fmt.Errorf("after kr's line git would still use %s; nothing was changed", strings.Join(left, ", "))
		if !krActive {
			err = errors.New("git does not read kr's line where kr wrote it; nothing was changed")
		}
		return a.undoGit(backup, withHint(err, "remove that helper where it is set (or move the [include] that sets it above [credential]), then run this again"))
	}
	for _, h := range plain {
		fmt.Fprintf(a.IO.ErrOut, "kr: turned off %s, which keeps passwords in plain text: an empty credential.helper comes before kr's\n", h)
	}
	if replace {
		for _, h := range kept {
			fmt.Fprintf(a.IO.ErrOut, "kr: turned off %s: an empty credential.helper comes before kr's\n", h)
		}
	}
	if reset {
		fmt.Fprintln(a.IO.ErrOut, `kr: git config --global --add credential.helper ""`)
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: git config --global --add credential.helper %s\n", gitHelperName)
	return nil
}

// undoGit puts the global git configuration back after a failed change.
func (a *App) undoGit(b *gitConfigBackup, err error) error {
	if rerr := b.restore(); rerr != nil {
		return fmt.Errorf("%w; putting %s back failed too: %v", err, b.path, rerr)
	}
	return err
}

// noteRepoHelpers names the helpers this repository's own configuration
// adds: they run here whatever the user-wide configuration says.
func (a *App) noteRepoHelpers(all []gitHelper) {
	for _, h := range all {
		if !h.userWide() && h.Value != "" && !h.isKr() {
			warn := ""
			if h.plaintext() {
				warn = ", which keeps passwords in plain text"
			}
			fmt.Fprintf(a.IO.ErrOut, "kr: note: in this repository git also uses %s%s\n", h, warn)
		}
	}
}

func isGitExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

func runGit(ctx context.Context, git string, args ...string) error {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Env = agentEnv(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// linkHelper makes link run kr: a symbolic link, or on Windows (where
// those need a privilege) a hard link, else a copy.
func linkHelper(self, link string) error {
	if runtime.GOOS != "windows" {
		return os.Symlink(self, link)
	}
	if err := os.Link(self, link); err == nil {
		return nil
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return err
	}
	return os.WriteFile(link, data, 0o755)
}

func onPathDir(path, dir string) bool {
	for _, d := range filepath.SplitList(path) {
		if d == dir {
			return true
		}
	}
	return false
}
