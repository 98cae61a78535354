package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/execenv"
)

// envSources are the flags exec and env share.
type envSources struct {
	assignments []string // -e VAR=NAME
	envFiles    []string // --env-file FILE
	noProject   bool     // --no-project: leave .kr.env out
}

func (s *envSources) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVarP(&s.assignments, "env", "e", nil, "set VAR to the secret NAME (VAR=NAME; repeatable)")
	f.StringArrayVar(&s.envFiles, "env-file", nil, "read variables from a dotenv FILE; values may be kr://NAME (repeatable)")
	f.BoolVar(&s.noProject, "no-project", false, "do not load the .kr.env that applies here, nor stop for one that is not allowed")
}

// resolve builds the environment: inherited (kr:// values resolved), the
// allowed .kr.env, env files, then -e, later ones winning.
func (a *App) resolve(ctx context.Context, s *envSources) (*envref.Result, error) {
	var layers []envref.Layer
	if !s.noProject {
		proj, err := a.projectLayer()
		if err != nil {
			return nil, err
		}
		if proj != nil {
			layers = append(layers, *proj)
		}
	}
	for _, path := range s.envFiles {
		vars, err := envref.LoadFile(path)
		if err != nil {
			return nil, withHint(fmt.Errorf("env file: %w", err), "env files hold KEY=value lines; values may be kr://NAME")
		}
		layers = append(layers, envref.Layer{Source: path, Vars: vars})
	}
	var cmdline []envref.Var
	for _, as := range s.assignments {
		v, err := envref.ParseAssignment(as)
		if err != nil {
			return nil, usagef("%v", err)
		}
		cmdline = append(cmdline, v)
	}
	layers = append(layers, envref.Layer{Source: "-e", Vars: cmdline})
	return envref.Resolve(ctx, &lazyGetter{app: a}, os.Environ(), layers)
}

// findProjectFile is the .kr.env that applies here, "" when none does.
func (a *App) findProjectFile() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", envref.ProjectFile, err)
	}
	home := a.Getenv("HOME")
	if runtime.GOOS == "windows" {
		home = a.Getenv("USERPROFILE")
	}
	return envref.FindProjectFile(wd, home), nil
}

// projectLayer loads the .kr.env that applies when the user allowed its
// exact content. One nobody decided about stops the command, as direnv
// blocks an .envrc: running without the variables the project expects is a
// silent wrong turn. A denied file is left out without a word.
func (a *App) projectLayer() (*envref.Layer, error) {
	path, err := a.findProjectFile()
	if err != nil || path == "" {
		return nil, err
	}
	trust, err := envref.DefaultTrust(a.Getenv)
	if err != nil {
		return nil, err
	}
	status, content, err := trust.Check(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	const next = "review it, then 'kr allow' loads it or 'kr allow --deny' leaves it out; --no-project skips it for one run"
	switch status {
	case envref.NotAllowed:
		return nil, withHint(fmt.Errorf("%s is not allowed", path), next)
	case envref.Changed:
		return nil, withHint(fmt.Errorf("%s changed since it was allowed", path), next)
	case envref.Absent, envref.Denied:
		return nil, nil
	}
	vars, err := envref.Parse(content, path)
	if err != nil {
		return nil, err
	}
	return &envref.Layer{Source: path, Vars: vars}, nil
}

// readsFor is the absolute path of the program kr exec runs as file,
// found in env's PATH; where it cannot be found, file itself (the agent
// then cannot name it, and refuses rather than ask about kr's parent).
func readsFor(file string, env []string) string {
	path, err := execenv.LookPath(file, env)
	if err != nil {
		return file
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// lazyGetter opens the backend only when a reference needs it, so that
// `kr exec` without references works with no store at all.
type lazyGetter struct{ app *App }

func (g *lazyGetter) Get(ctx context.Context, name string) ([]byte, error) {
	return g.app.get(ctx, name)
}

func newExecCmd(app *App) *cobra.Command {
	var src envSources
	var mask bool
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with secrets in its environment",
		Long: `Run COMMAND with secrets injected as environment variables, from (later
overriding earlier) inherited variables whose value is kr://NAME, an allowed
.kr.env (in this directory or the nearest parent up to the repository root or
$HOME), each --env-file, and each -e VAR=NAME. Every reference
is resolved before the command starts; one that fails stops kr with nothing run.

On Unix kr replaces itself with the command, which keeps kr's pid, signals and
exit status. With --mask (or on Windows) kr runs it as a child, passes on
SIGINT, SIGTERM, SIGHUP and SIGQUIT (not a Ctrl-C the terminal already sent
it), and exits with its status. --mask replaces each injected value of 4 or
more bytes in its stdout and stderr with "<concealed by kr>", also when it
is written in pieces or split between the two streams.
KR_PASSPHRASE and the other KR_*_FILE passphrase variables never reach it.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			// The secrets are read for the program kr runs, not for
			// whatever ran kr: the agent asks about and logs that
			// program, so it is named before anything is read.
			runs := readsFor(args[0], os.Environ())
			res, err := app.resolve(agent.ReadsFor(ctx, runs), &src)
			cancel()
			if err != nil {
				return err
			}
			if mask {
				fmt.Fprint(app.IO.ErrOut, unmaskedNotice(res))
			}
			path, err := execenv.LookPath(args[0], res.Env)
			if err != nil {
				return withHint(&exitWithMessage{code: 127, err: err}, "check the command name and PATH")
			}
			if abs, _ := filepath.Abs(path); abs != runs && filepath.IsAbs(runs) && len(res.Secrets) > 0 {
				// The environment moved the command (a PATH of its own):
				// what was read was read for another program.
				return withHint(&exitWithMessage{code: 126, err: fmt.Errorf("%s is %s in the environment kr gives it but %s in kr's, which its secrets were read for", args[0], abs, runs)},
					"run the command by its full path, or set its PATH before kr runs")
			}
			if !mask && execenv.CanExec {
				err := execenv.Exec(path, args, res.Env)
				// Found but not runnable: 126, as a shell gives.
				return withHint(&exitWithMessage{code: 126, err: fmt.Errorf("exec %s: %w", args[0], err)}, "check that the file is an executable program or script")
			}
			st, err := execenv.Run(execenv.Options{
				Path: path, Args: args, Env: res.Env,
				Stdin: app.IO.In, Stdout: app.IO.Out, Stderr: app.IO.ErrOut,
				Secrets: res.Secrets, Mask: mask,
			})
			if err != nil {
				return &exitWithMessage{code: 126, err: fmt.Errorf("run %s: %w", args[0], err)}
			}
			if st.Signal != nil {
				execenv.Reraise(st.Signal)
			}
			return &ExitCodeError{Code: st.Code}
		},
	}
	cmd.Flags().SetInterspersed(false)
	src.addFlags(cmd)
	registerCompletion(cmd, "env", app.completeAssignment)
	cmd.Flags().BoolVar(&mask, "mask", false, "run as a child and conceal injected values in its output")
	return cmd
}

// exitWithMessage is an error printed as usual but ending kr with code.
type exitWithMessage struct {
	code int
	err  error
}

func (e *exitWithMessage) Error() string { return e.err.Error() }
func (e *exitWithMessage) Unwrap() error { return e.err }

func newEnvCmd(app *App) *cobra.Command {
	var src envSources
	var format string
	cmd := &cobra.Command{
		Use:   "env [flags]",
		Short: "Print resolved variables for a shell (sh, fish, powershell, dotenv, json)",
		Long: `Print the variables kr would set for 'kr exec' (the ones from .kr.env, env
files, -e, and inherited kr:// references), quoted for --format:
  eval "$(kr env -e TOKEN=api/token)"           # sh, bash, zsh
  kr env --format fish -e TOKEN=api/token | source`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(envref.Formats, format) {
				return usagef("unknown format %q (choose one of %s)", format, strings.Join(envref.Formats, ", "))
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			res, err := app.resolve(ctx, &src)
			if err != nil {
				return err
			}
			err = envref.Write(app.stdout(), format, res.Set)
			switch {
			case errors.Is(err, envref.ErrBadName):
				// -e and env files allow only valid names: this one was inherited.
				return withHint(err, "it comes from the environment: unset it, or use --format json")
			case errors.Is(err, envref.ErrNoDotenvForm):
				return withHint(err, "use --format sh, which carries any value, or json")
			case errors.Is(err, envref.ErrNotText):
				return withHint(err, "use --format sh, which carries any bytes")
			}
			return err
		},
	}
	src.addFlags(cmd)
	registerCompletion(cmd, "env", app.completeAssignment)
	cmd.Flags().StringVar(&format, "format", "sh", "sh, fish, powershell, dotenv or json")
	registerCompletion(cmd, "format", completeFormats())
	return cmd
}

func newAllowCmd(app *App) *cobra.Command {
	var revoke, deny bool
	cmd := &cobra.Command{
		Use:   "allow [FILE]",
		Short: "Trust the .kr.env that applies here (or FILE) as it is now",
		Long: `Record the exact content of .kr.env (or FILE) as trusted, so that kr exec and
kr env load it. The .kr.env is the one in this directory or the nearest parent,
up to the repository root (a directory holding .git) or $HOME. A later change
makes it untrusted again. --revoke forgets it. --deny revokes it too and
leaves it out without a word until its content changes. A .kr.env that is\nneither allowed nor denied stops kr exec and kr env (--no-project skips it).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if revoke && deny {
				return usagef("use at most one of --deny and --revoke")
			}
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				found, err := app.findProjectFile()
				if err != nil {
					return err
				}
				path = found
				if path == "" && !revoke {
					wd, _ := os.Getwd()
					return withHint(fmt.Errorf("no %s in %s or a parent up to the repository root or $HOME", envref.ProjectFile, wd),
						"create it with KEY=kr://NAME lines first, or name the file")
				}
				if path == "" {
					// Its record can outlive the file.
					path = envref.ProjectFile
				}
			}
			trust, err := envref.DefaultTrust(app.Getenv)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(path)
			switch {
			case revoke:
				had, err := trust.Revoke(path)
				if err != nil {
					return err
				}
				if !had {
					return withHint(fmt.Errorf("%s was not allowed", abs), "nothing to revoke")
				}
				fmt.Fprintf(app.IO.ErrOut, "kr: %s is no longer allowed\n", abs)
				return nil
			case deny:
				err = trust.Deny(path)
			default:
				err = trust.Allow(path)
			}
			if errors.Is(err, os.ErrNotExist) {
				return withHint(fmt.Errorf("%s does not exist", abs), "create it with KEY=kr://NAME lines first")
			}
			if err != nil {
				return err
			}
			if deny {
				fmt.Fprintf(app.IO.ErrOut, "kr: %s is denied: kr will not load it, nor stop for it, until it changes\n", abs)
			} else {
				fmt.Fprintf(app.IO.ErrOut, "kr: allowed %s as it is now\n", abs)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "forget that FILE was allowed")
	cmd.Flags().BoolVar(&deny, "deny", false, "do not load FILE, nor stop for it, until it changes")
	return cmd
}
