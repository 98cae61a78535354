package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/pinentry"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/internal/vaultstate"
	"github.com/kr-keyring/kr/internal/wait"
	"github.com/kr-keyring/kr/internal/wslbridge"
)

// App holds what every command shares: the streams, the environment and the
// global flags. It is built once per run by Main (or by a test).
type App struct {
	IO     *IOStreams
	Getenv func(string) string

	// Global flags, after defaults from the environment.
	BackendName string
	Service     string
	VaultDir    string
	Timeout     time.Duration

	// vaultNamed says what named the file vault that is this run's store
	// ("--vault" or "KR_VAULT"), whatever store is recorded; "" when none did.
	vaultNamed string

	opened backends.Backend    // the backend, once opened
	choice backends.Choice     // how it was chosen
	record *config.Stores      // the store record, once read
	names  *backends.Namespace // the namespace over the store and the mounts, once built
	vault  *filevault.Vault    // the file vault, once opened
	link   *agent.Client       // the run's one connection to the agent, once dialled
	wsl    *wslbridge.Client   // the run's one kr.exe inside WSL, once started
	typed  int                 // how many passphrases were typed at a prompt (terminal or dialog)

	// requester names the program a credential helper serves (git,
	// docker), for prompts; "" is the process that ran kr.
	requester string
	// agentServeArgs are the flags an agent this run starts is given
	// (kr agent start --confirm, --lock-on).
	agentServeArgs []string
	// retryNote is why the next prompt asks again (a wrong passphrase),
	// for a dialog, which cannot be told on a terminal.
	retryNote string

	// scryptWorkFactor is log2 of scrypt's N for the vaults and identities
	// this run creates or rewraps; 0 is filevault's default (18). Only kr's
	// own tests set it (export_test.go), for runs whose subject is not the
	// KDF: no flag or variable of kr reaches it.
	scryptWorkFactor int
}

// NewApp returns an App on the process's own streams and environment.
func NewApp() *App {
	return &App{IO: SystemIO(), Getenv: os.Getenv}
}

// context is one command's context. --timeout bounds each wait on another
// program under it (the Secret Service, the agent, another kr's lock: see
// package wait), never the command as a whole: kr's own work (scrypt, a
// re-encryption) and a person typing at a prompt take what they take.
func (a *App) context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	if a.Timeout > 0 {
		ctx = wait.WithLimit(ctx, a.Timeout)
	}
	return ctx, cancel
}

// Vault opens the file vault (without creating it).
func (a *App) Vault() (*filevault.Vault, error) {
	if a.vault != nil {
		return a.vault, nil
	}
	named := a.VaultDir != "" // --vault or KR_VAULT
	if !named {
		dir, err := filevault.DefaultDir()
		if err != nil {
			return nil, withHint(fmt.Errorf("find the vault directory: %w", err), "set KR_VAULT or --vault")
		}
		a.VaultDir = dir
	}
	v, err := a.openVault(a.VaultDir, named, true)
	if err != nil {
		return nil, err
	}
	a.vault = v
	return v, nil
}

// openVault opens the vault in dir as kr reads and writes it; with create,
// a first write creates it.
func (a *App) openVault(dir string, named, create bool) (*filevault.Vault, error) {
	accepted, err := recipients.Default(a.Getenv)
	if err != nil {
		return nil, withHint(err, "set KR_CONFIG_DIR to a directory for kr's records")
	}
	accept, err := a.acceptedFromEnv()
	if err != nil {
		return nil, err
	}
	state, err := vaultstate.Default(a.Getenv)
	if err != nil {
		return nil, withHint(err, "set KR_CONFIG_DIR to a directory for kr's records")
	}
	// Without a home for the identity, only shared vaults lack a reader.
	personal, _ := a.personal()
	opts := filevault.Options{
		Dir:              dir,
		Decrypter:        &retryDecrypter{app: a, inner: a.decrypter()},
		Accepted:         accepted,
		State:            state,
		Named:            named,
		Personal:         personal,
		AcceptAlso:       a.alsoAccepted(accept),
		ScryptWorkFactor: a.scryptWorkFactor,
	}
	if create {
		opts.Create, opts.ShowRecovery = a.newVaultPassphrase, a.showRecoveryCode
	}
	return filevault.Open(opts)
}

// passphrase finds the vault passphrase without prompting where it can:
// KR_PASSPHRASE_FILE, then KR_PASSPHRASE, then the controlling terminal
// (stdin may be a pipe), then a pinentry dialog. Without any of them
// reading is locked (exit 4), never a hang on a closed stdin.
func (a *App) passphrase(ctx context.Context, p secretPrompt) ([]byte, error) {
	if p, ok, err := a.passphraseFromEnv(); ok || err != nil {
		return p, err
	}
	pass, err := a.askSecret(ctx, p)
	if errors.Is(err, errNoTerminal) {
		return nil, withHint(fmt.Errorf("%w: the vault needs its passphrase and there is no terminal", backends.ErrLocked),
			"run 'kr unlock' first, set KR_PASSPHRASE_FILE to a file holding the passphrase, or KR_PINENTRY to a pinentry program")
	}
	if err != nil {
		return nil, err
	}
	a.typed++
	return pass, nil
}

// openTerminal opens the controlling terminal; every failure is
// errNoTerminal.
func (a *App) openTerminal() (Terminal, error) {
	if a.IO.OpenTerminal == nil {
		return nil, errNoTerminal
	}
	t, err := a.IO.OpenTerminal()
	if err != nil && !errors.Is(err, errNoTerminal) {
		err = fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return t, err
}

// maxTries is how often a passphrase or recovery code typed at the
// terminal may be wrong, as with sudo and ssh.
const maxTries = 3

// lostPassphraseHint follows the last wrong passphrase.
const lostPassphraseHint = "if the passphrase is lost, 'kr recover' sets a new one with the recovery code from 'kr init'"

// retryTyped runs attempt until it succeeds, fails otherwise than with a
// wrong passphrase or code, or has failed maxTries times. Only a secret
// typed at the terminal (typed reports it) is asked again: one from a
// variable or a file would be the same the next time.
func (a *App) retryTyped(wrong, fromEnvHint, lastHint string, attempt func() (typed bool, err error)) error {
	for try := 1; ; try++ {
		typed, err := attempt()
		if err == nil || !errors.Is(err, filevault.ErrBadPassphrase) {
			return err
		}
		if !typed {
			return withHint(err, "%s", fromEnvHint)
		}
		if try == maxTries {
			return withHint(err, "%d wrong tries; %s", maxTries, lastHint)
		}
		if t, err := a.openTerminal(); err == nil {
			fmt.Fprintf(t, "kr: %s, try again\n", wrong)
			t.Close()
		} else {
			a.retryNote = wrong + ", try again" // the dialog's error line
		}
	}
}

// retryDecrypter lets a wrong passphrase typed at the terminal be typed
// again when the vault is read.
type retryDecrypter struct {
	app   *App
	inner filevault.Decrypter
}

func (d *retryDecrypter) Decrypt(ctx context.Context, s filevault.Sealed) ([]byte, error) {
	var plain []byte
	err := d.app.retryTyped("wrong passphrase",
		"check KR_PASSPHRASE_FILE or KR_PASSPHRASE; "+lostPassphraseHint, lostPassphraseHint,
		func() (bool, error) {
			typed := d.app.typed
			var err error
			plain, err = d.inner.Decrypt(ctx, s)
			return d.app.typed != typed, err
		})
	switch {
	case errors.Is(err, filevault.ErrNoIdentity):
		return nil, withHint(err, "'kr identity' creates your identity and prints its key for a member to add; or set KR_IDENTITY_FILE")
	case errors.Is(err, filevault.ErrWrongIdentity):
		return nil, withHint(err, "a member of the vault can add your key ('kr identity' prints it) to its recipients")
	case err != nil:
		return nil, err
	}
	return plain, nil
}

// identityFromEnv reads age identities from KR_IDENTITY_FILE or
// KR_IDENTITY: nil when neither is set. They unlock in this process with
// no scrypt and no agent (CI).
func (a *App) identityFromEnv() (*filevault.KeyDecrypter, error) {
	src := "KR_IDENTITY_FILE"
	b, ok, err := a.readSecretFile(src)
	if err != nil {
		return nil, err
	}
	if !ok {
		src = "KR_IDENTITY"
		v := a.Getenv(src)
		if v == "" {
			return nil, nil
		}
		b = []byte(v)
	}
	defer clear(b)
	ids, err := filevault.ParseIdentities(b, src)
	if err != nil {
		return nil, withHint(err, "'age-keygen' or 'kr identity' make one; unset %s to use a passphrase", src)
	}
	return &filevault.KeyDecrypter{Identities: ids, Source: src}, nil
}

// passphraseFromEnv reads KR_PASSPHRASE_FILE or KR_PASSPHRASE. ok is false
// when neither is set.
func (a *App) passphraseFromEnv() (p []byte, ok bool, err error) {
	if p, ok, err := a.readSecretFile("KR_PASSPHRASE_FILE"); ok {
		return p, ok, err
	}
	if p := a.Getenv("KR_PASSPHRASE"); p != "" {
		return []byte(p), true, nil
	}
	return nil, false, nil
}

// passphraseInEnv reports whether passphraseFromEnv would answer, without
// reading the file: deciding where a passphrase comes from, for every
// secret read, needs no copy of it.
func (a *App) passphraseInEnv() bool {
	return a.Getenv("KR_PASSPHRASE_FILE") != "" || a.Getenv("KR_PASSPHRASE") != ""
}

// newPassphrase asks for a new passphrase: from the environment, or twice on
// the terminal.
// about says what it is for, on the terminal before the first entry.
func (a *App) newPassphrase(ctx context.Context, what, about string) ([]byte, error) {
	if p, ok, err := a.passphraseFromEnv(); ok || err != nil {
		return p, err
	}
	p, err := a.askNewPassphrase(ctx, about, fmt.Sprintf("New %s: ", what), fmt.Sprintf("Repeat the %s: ", what))
	if errors.Is(err, errNoTerminal) {
		return nil, withHint(fmt.Errorf("%w: a new %s is needed and there is no terminal", backends.ErrLocked, what),
			"set KR_PASSPHRASE_FILE (or KR_PASSPHRASE) for non-interactive use")
	}
	return p, err
}

// askNewPassphrase asks twice on the terminal; an empty passphrase is
// refused at the first entry, not after it was repeated.
func (a *App) askNewPassphrase(ctx context.Context, about, prompt, repeat string) ([]byte, error) {
	return a.askTwice(ctx, about, prompt, repeat, "nothing was changed", errors.New("empty passphrase refused; nothing was changed"))
}

// askTwice reads a secret twice from the terminal, without echo, and
// returns it when both entries match. When ifEmpty is set, an empty first
// entry fails with it at once.
func (a *App) askTwice(ctx context.Context, about, prompt, repeat, onMismatch string, ifEmpty error) ([]byte, error) {
	t, err := a.openTerminal()
	if err != nil {
		// No terminal: a dialog, which asks twice itself.
		p, err := a.dialog(ctx, secretPrompt{about: about, label: prompt}, "", repeat)
		if errors.Is(err, pinentry.ErrMismatch) {
			return nil, fmt.Errorf("the two entries differ; %s", onMismatch)
		}
		if err == nil && len(p) == 0 && ifEmpty != nil {
			return nil, ifEmpty
		}
		return p, err
	}
	defer t.Close()
	if about != "" {
		fmt.Fprintf(t, "kr: %s\n", about)
	}
	p1, err := t.ReadSecret(prompt)
	if err != nil {
		return nil, err
	}
	if len(p1) == 0 && ifEmpty != nil {
		return nil, ifEmpty
	}
	p2, err := t.ReadSecret(repeat)
	if err != nil {
		clear(p1)
		return nil, err
	}
	defer clear(p2)
	if !bytes.Equal(p1, p2) {
		clear(p1)
		return nil, fmt.Errorf("the two entries differ; %s", onMismatch)
	}
	return p1, nil
}

func (a *App) newVaultPassphrase(ctx context.Context) ([]byte, error) {
	return a.newPassphrase(ctx, "vault passphrase", fmt.Sprintf("%s asks to store a secret in %s: a new vault there needs a passphrase", a.asker(), a.VaultDir))
}

// showRecoveryCode shows the recovery code of a vault created by a first
// write. It goes to the terminal only: a code in a CI log is a leaked key.
func (a *App) showRecoveryCode(code string) {
	a.showCode(fmt.Sprintf("created a new vault in %s", a.VaultDir), code,
		"keep the passphrase safe, or create vaults with 'kr init', which prints the recovery code")
}

// showCode shows a recovery code on the terminal only (a code in a CI log
// is a leaked key); what says what was created, hint what to do when no
// terminal could show it.
func (a *App) showCode(what, code, hint string) {
	if t, err := a.openTerminal(); err == nil {
		defer t.Close()
		fmt.Fprintf(t, "kr: %s\nkr: recovery code: %s\nkr: write it down now: it is shown only once and is the only way back if the passphrase is lost\n", what, code)
		return
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: %s; with no terminal its recovery code was not shown\nkr: hint: %s\n", what, hint)
}
