// Package cli implements kr's commands: flags, prompts, output and exit
// codes. Every command reads and writes through App.IO so tests run it
// without a terminal.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kr-keyring/kr/backends"
)

// Main runs kr with the process's arguments and returns the exit code.
func Main() int { return runMain(NewApp()) }

// runMain runs the process's command line on app: Main's body, shared with
// the test binary's kr, so that both run as the shipped kr does.
func runMain(app *App) int {
	// First, before any command reads a variable, a file or a store: a kr
	// process may hold secrets for as long as a program it runs.
	denyInspection()
	return Run(context.Background(), app, commandLine(os.Args))
}

// helperNames maps the file names credential clients look for on PATH to the
// kr command that speaks their protocol: kr is one binary, also installed
// (linked or copied) under these names, as busybox is.
var helperNames = map[string]string{
	"git-credential-kr":    "git-credential",
	"docker-credential-kr": "docker-credential",
}

// commandLine returns kr's arguments for argv, putting the helper command
// first when kr runs under a helper's name.
func commandLine(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	name := argv[0][strings.LastIndexAny(argv[0], `/\`)+1:] // either separator, whatever the OS
	name = strings.ToLower(name)
	if cmd, ok := helperNames[strings.TrimSuffix(name, ".exe")]; ok {
		return append([]string{cmd}, argv[1:]...)
	}
	return argv[1:]
}

// Run runs one command line and returns the exit code, having printed any
// error in kr's output policy.
func Run(ctx context.Context, app *App, args []string) int {
	root := newRootCmd(app, args)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	app.dropAgentConn()
	if err != nil {
		err = app.traceDamage(ctx, err)
		printError(app.IO.ErrOut, err)
	}
	return exitCode(err)
}

// typeUsageErrors makes every mistake in a command line a *usageError, so
// that exit codes never depend on cobra's message text: argument
// validators are wrapped, and a command that only groups others refuses an
// unknown subcommand (cobra would print help and succeed) and shows its
// help when called bare.
func typeUsageErrors(c *cobra.Command) {
	if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.SuggestionsMinimumDistance = 2 // cobra's own default, applied only on its path
		c.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return &usageError{err: fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath()),
				cmd: cmd.CommandPath(), suggest: cmd.SuggestionsFor(args[0])}
		}
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	}
	if inner := c.Args; inner != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := inner(cmd, args)
			var ue *usageError
			if err != nil && !errors.As(err, &ue) {
				err = &usageError{err: err, cmd: cmd.CommandPath()}
			}
			return err
		}
	}
	for _, sub := range c.Commands() {
		typeUsageErrors(sub)
	}
}

// NewRootCmd builds the command tree around app.
func NewRootCmd(app *App) *cobra.Command { return newRootCmd(app, nil) }

// addTopCommand builds topCommands[n] under root.
func addTopCommand(root *cobra.Command, app *App, n int) {
	c := topCommands[n]
	cmd := c.add(app)
	cmd.Aliases = c.aliases
	root.AddCommand(cmd)
}

// topCommands are kr's commands in the order help lists them, each with
// its name and aliases, given here alone (newRootCmd sets them on the
// built command), so that a run can build only the command it invokes:
// building every command and its flags was a fifth of `kr version`.
var topCommands = []struct {
	name    string
	aliases []string
	add     func(*App) *cobra.Command
}{
	{"set", nil, newSetCmd}, {"get", nil, newGetCmd}, {"rm", []string{"remove", "delete"}, newRmCmd},
	{"ls", []string{"list"}, newLsCmd}, {"mv", []string{"rename", "move"}, newMvCmd}, {"cp", nil, newCpCmd},
	{"import", nil, newImportCmd}, {"export", nil, newExportCmd},
	{"init", nil, newInitCmd}, {"passwd", nil, newPasswdCmd}, {"recover", nil, newRecoverCmd},
	{"identity", nil, newIdentityWithBindCmd}, {"vault", nil, newVaultCmd},
	{"mount", nil, newMountCmd}, {"unmount", nil, newUnmountCmd},
	{"exec", nil, newExecCmd}, {"env", nil, newEnvCmd}, {"allow", nil, newAllowCmd},
	{"inject", nil, newInjectCmd}, {"read", nil, newReadCmd}, {"otp", nil, newOTPCmd},
	{"unlock", nil, newUnlockCmd}, {"lock", nil, newLockCmd}, {"agent", nil, newAgentCmd},
	{"ssh", nil, newSSHCmd},
	{"backend", nil, newBackendCmd}, {"doctor", nil, newDoctorCmd}, {"completion", nil, newCompletionCmd},
	{"version", nil, newVersionCmd},
	{"git-credential", nil, newGitCredentialCmd}, {"setup", nil, newSetupCmd},
	{"docker-credential", nil, newDockerCredentialCmd}, {"aws-credentials", nil, newAWSCredentialsCmd},
	{"kube-credential", nil, newKubeCredentialCmd}, {"bridge", nil, newBridgeCmd},
}

// invoked finds the top-level command args run, or -1 for every command:
// when none is named, or help, completion (which describe the whole tree)
// or anything that is not plainly a command is. Which flags take a value
// comes from the root's own flag set (every flag but a boolean one, whose
// NoOptDefVal is set), so a new global flag's value is never taken for a
// command.
func invoked(flags *pflag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		var f *pflag.Flag
		switch {
		case a == "--":
			return -1
		case strings.HasPrefix(a, "--"):
			name, _, inline := strings.Cut(a[2:], "=")
			if !inline {
				f = flags.Lookup(name)
			}
		case len(a) == 2 && a[0] == '-':
			f = flags.ShorthandLookup(a[1:])
		case strings.HasPrefix(a, "-"):
			// -xVALUE, or not a flag kr has: cobra says which
		default:
			for n, c := range topCommands {
				if (c.name == a || slices.Contains(c.aliases, a)) && c.name != "completion" {
					return n
				}
			}
			return -1
		}
		if f != nil && f.NoOptDefVal == "" {
			i++ // the flag's value, not a command
		}
	}
	return -1
}

// newRootCmd builds the command tree around app: only the command args
// invoke, or every command.
func newRootCmd(app *App, args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "kr",
		Short: "Keep secrets in the OS keyring and hand them to programs",
		Long: `kr stores secrets in the operating system's credential store (Secret Service,
Keychain, Credential Manager) or in an age-encrypted file vault, and injects them
into programs as environment variables.

  printf %s "$TOKEN" | kr set api/token     # or: kr set api/token (hidden prompt)
  kr get api/token
  kr exec -e API_TOKEN=api/token -- ./deploy

Environment:
  KR_BACKEND              store for one command: auto, secretservice, wsl, keychain, dpapi, file
  KR_SERVICE              service items are filed under (default kr)
  KR_VAULT                file vault directory
  KR_CONFIG_DIR           kr's records: chosen stores, allowed .kr.env files, accepted recipients
  KR_TIMEOUT              like --timeout (default 10s)
  KR_NO_AGENT=1           never start or ask the agent
  KR_IDENTITY_FILE        file holding age identities (AGE-SECRET-KEY-1...): reads with no passphrase
  KR_IDENTITY             an age identity itself (CI; prefer the _FILE form)
  KR_PASSPHRASE_FILE      file holding the vault passphrase (one trailing newline is dropped)
  KR_PASSPHRASE           the vault passphrase itself (CI; prefer the _FILE form)
  KR_NEW_PASSPHRASE_FILE  the new passphrase for kr passwd and kr recover
  KR_RECOVERY_CODE_FILE   the recovery code for kr recover
  KR_SSH_PASSPHRASE_FILE  the passphrase of a key file for kr ssh add
  KR_PINENTRY             the agent's pinentry, for SSH keys added with --confirm
Passphrase and identity variables never reach programs kr runs.`,
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return app.applyEnvDefaults(cmd)
		},
	}
	root.SetVersionTemplate("kr {{.Version}}\n")
	root.SetIn(app.IO.In)
	root.SetOut(app.IO.Out)
	root.SetErr(app.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err: err, cmd: c.CommandPath()} })

	f := root.PersistentFlags()
	f.StringVar(&app.BackendName, "backend", "", "store: "+storeAlternatives(knownStores())+" (env KR_BACKEND)")
	f.StringVar(&app.Service, "service", "", "service name items are filed under (env KR_SERVICE, default \"kr\")")
	f.StringVar(&app.VaultDir, "vault", "", "file vault directory (env KR_VAULT)")
	f.DurationVar(&app.Timeout, "timeout", 10*time.Second, "give up on the store after this long")
	registerCompletion(root, "backend", completeBackends())

	if n := invoked(root.PersistentFlags(), args); n >= 0 {
		addTopCommand(root, app, n)
	} else {
		for n := range topCommands {
			addTopCommand(root, app, n)
		}
	}
	typeUsageErrors(root)
	addExamples(root)
	return root
}

// applyEnvDefaults fills flags that were not given from KR_* variables.
func (a *App) applyEnvDefaults(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if !flags.Changed("backend") {
		a.BackendName = a.Getenv("KR_BACKEND")
	}
	if a.BackendName == "" {
		a.BackendName = backends.Auto
	}
	if !isKnownStore(a.BackendName) {
		return usagef("unknown backend %q (choose one of %s)", a.BackendName, storeChoices(knownStores()))
	}
	if !flags.Changed("service") {
		a.Service = a.Getenv("KR_SERVICE")
	}
	if a.Service == "" {
		a.Service = "kr"
	}
	if strings.ContainsAny(a.Service, ":\x00\n") || len(a.Service) > 128 {
		return usagef("invalid service name %q (no ':', at most 128 bytes)", a.Service)
	}
	if err := a.applyVault(flags.Changed("vault"), flags.Changed("backend")); err != nil {
		return err
	}
	if !flags.Changed("timeout") {
		if s := a.Getenv("KR_TIMEOUT"); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return usagef("KR_TIMEOUT: %v", err)
			}
			a.Timeout = d
		}
	}
	if a.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	return nil
}

// applyVault makes a vault named by --vault or KR_VAULT the store of this
// command, whatever store is recorded: naming a vault and writing
// elsewhere would put a team's secret in a personal store. A store named
// by --backend or KR_BACKEND is used instead, unless only --vault is a
// flag (a flag over a variable); --vault and --backend naming two stores
// is a usage error.
func (a *App) applyVault(vaultFlag, backendFlag bool) error {
	how := "--vault"
	if !vaultFlag {
		a.VaultDir, how = a.Getenv("KR_VAULT"), "KR_VAULT"
	}
	if a.VaultDir == "" {
		return nil
	}
	switch a.BackendName {
	case backends.Auto, backends.File:
	default:
		switch {
		case vaultFlag && backendFlag:
			return usagef("--vault names a file vault and --backend the store %s; name one", a.BackendName)
		case !vaultFlag:
			return nil // the named store; KR_VAULT waits for the file store
		}
	}
	a.BackendName, a.vaultNamed = backends.File, how
	return nil
}

func newCompletionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print the script that lets the shell complete kr's commands, flags and their
values, and secret names wherever a command takes one (get, set, rm, ls, mv,
cp, export, -e VAR=NAME, unlock --cache). Names come only from where kr can
read them without asking: the file vault (no passphrase), unlocked Secret
Service collections, Credential Manager; a locked store and the Keychain
offer none. Completing never prompts, never starts the agent and gives up
after a second.

Install it once:
  bash        (needs the bash-completion package) add to ~/.bashrc:
                source <(kr completion bash)
              or write it to bash-completion's directory, loaded on demand:
                kr completion bash > ~/.local/share/bash-completion/completions/kr
  zsh         write it as _kr to a directory in $fpath:
                mkdir -p ~/.zfunc && kr completion zsh > ~/.zfunc/_kr
              and in ~/.zshrc, in this order:
                fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit
  fish        kr completion fish > ~/.config/fish/completions/kr.fish
  powershell  add to $PROFILE (notepad $PROFILE):
                kr completion powershell | Out-String | Invoke-Expression
Then start a new shell.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(app.IO.Out, true)
			case "zsh":
				return root.GenZshCompletion(app.IO.Out)
			case "fish":
				return root.GenFishCompletion(app.IO.Out, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(app.IO.Out)
			}
			return usagef("unknown shell %q (bash, zsh, fish or powershell)", args[0])
		},
	}
}
