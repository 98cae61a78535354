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
	"slices"
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
link next to kr when git-credential-kr is not on PATH and set
credential.helper; running it again changes nothing. Other helpers already
configured are left alone and named, unless --replace is given, which
removes them and says which.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if replace {
				apply = true
			}
			return app.setupGit(cmd.Context(), apply, replace)
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
	helpers, err := gitConfigGetAll(ctx, git, "credential.helper")
	if err != nil {
		return err
	}
	var others []string
	for _, h := range helpers {
		if h != gitHelperName && h != "" {
			others = append(others, h)
		}
	}
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
	configured := slices.Contains(helpers, gitHelperName) && len(others) == 0

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
		for _, h := range others {
			fmt.Fprintf(out, "# credential.helper is also %q: git asks it too (kr setup git --replace removes it)\n", h)
		}
		fmt.Fprintf(out, "git config --global credential.helper %s\n", gitHelperName)
		if configured {
			fmt.Fprintln(out, "# already configured")
		}
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
	if configured {
		fmt.Fprintln(a.IO.ErrOut, "kr: git already uses kr as its credential helper")
		return nil
	}
	if len(others) > 0 && !replace {
		return withHint(fmt.Errorf("credential.helper is already set to %s; nothing was changed", quoteAll(others)),
			"'kr setup git --replace' replaces it with kr; or add kr after it yourself: git config --global --add credential.helper kr")
	}
	for _, h := range others {
		fmt.Fprintf(a.IO.ErrOut, "kr: removing credential.helper %q\n", h)
	}
	// --replace-all sets the one value whatever was there; without others
	// it is a plain set.
	if err := runGit(ctx, git, "config", "--global", "--replace-all", "credential.helper", gitHelperName); err != nil {
		return err
	}
	fmt.Fprintln(a.IO.ErrOut, "kr: git config --global credential.helper kr")
	return nil
}

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// gitConfigGetAll reads every global value of key; none is not an error.
func gitConfigGetAll(ctx context.Context, git, key string) ([]string, error) {
	cmd := exec.CommandContext(ctx, git, "config", "--global", "--get-all", key)
	cmd.Env = agentEnv(os.Environ()) // no passphrase of kr's reaches git
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
		return nil, nil // key not set
	}
	if err != nil {
		return nil, fmt.Errorf("git config --get-all %s: %v: %s", key, err, strings.TrimSpace(stderr.String()))
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n"), nil
}

func runGit(ctx context.Context, git string, args ...string) error {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Env = agentEnv(os.Environ())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
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
