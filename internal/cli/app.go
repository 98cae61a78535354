package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/file"
	"github.com/kr-keyring/kr/internal/recipients"
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

	opened   backends.Backend // the backend, once opened
	choice   backends.Choice  // how it was chosen
	recorded *string          // the store recorded for the service, once read
	vault    *file.Vault      // the file vault, once opened
}

// NewApp returns an App on the process's own streams and environment.
func NewApp() *App {
	return &App{IO: SystemIO(), Getenv: os.Getenv}
}

// context bounds one command's work by --timeout.
func (a *App) context(parent context.Context) (context.Context, context.CancelFunc) {
	if a.Timeout <= 0 {
		return context.WithCancel(parent)
	}
	return context.WithTimeout(parent, a.Timeout)
}

// Vault opens the file vault (without creating it).
func (a *App) Vault() (*file.Vault, error) {
	if a.vault != nil {
		return a.vault, nil
	}
	named := a.VaultDir != "" // --vault or KR_VAULT
	if !named {
		dir, err := file.DefaultDir()
		if err != nil {
			return nil, withHint(fmt.Errorf("find the vault directory: %w", err), "set KR_VAULT or --vault")
		}
		a.VaultDir = dir
	}
	accepted, err := recipients.Default(a.Getenv)
	if err != nil {
		return nil, withHint(err, "set KR_CONFIG_DIR to a directory for kr's records")
	}
	v, err := file.Open(file.Options{
		Dir:          a.VaultDir,
		Decrypter:    a.decrypter(),
		Create:       a.newVaultPassphrase,
		ShowRecovery: a.showRecoveryCode,
		Accepted:     accepted,
		Named:        named,
	})
	if err != nil {
		return nil, err
	}
	a.vault = v
	return v, nil
}

// passphrase finds the vault passphrase without prompting where it can:
// KR_PASSPHRASE_FILE, then KR_PASSPHRASE, then the terminal. Without any of
// them reading is locked (exit 4), never a hang on a closed stdin.
func (a *App) passphrase(ctx context.Context, prompt string) ([]byte, error) {
	if p, ok, err := a.passphraseFromEnv(); ok || err != nil {
		return p, err
	}
	if !a.IO.InIsTTY {
		return nil, withHint(fmt.Errorf("%w: the vault needs its passphrase and there is no terminal", backends.ErrLocked),
			"run 'kr unlock' first, or set KR_PASSPHRASE_FILE to a file holding the passphrase")
	}
	t, err := a.IO.OpenTerminal()
	if err != nil {
		return nil, withHint(fmt.Errorf("%w: %v", backends.ErrLocked, err),
			"run 'kr unlock' first, or set KR_PASSPHRASE_FILE to a file holding the passphrase")
	}
	defer t.Close()
	return t.ReadSecret(prompt)
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

// newPassphrase asks for a new passphrase: from the environment, or twice on
// the terminal.
func (a *App) newPassphrase(ctx context.Context, what string) ([]byte, error) {
	if p, ok, err := a.passphraseFromEnv(); ok || err != nil {
		return p, err
	}
	if !a.IO.InIsTTY {
		return nil, withHint(fmt.Errorf("%w: a new %s is needed and there is no terminal", backends.ErrLocked, what),
			"set KR_PASSPHRASE_FILE (or KR_PASSPHRASE) for non-interactive use")
	}
	p, err := a.askTwice(fmt.Sprintf("New %s: ", what), fmt.Sprintf("Repeat the %s: ", what), "nothing was changed")
	if err == nil && len(p) == 0 {
		err = errors.New("empty passphrase refused")
	}
	return p, err
}

// askTwice reads a secret twice from the terminal, without echo, and
// returns it when both entries match.
func (a *App) askTwice(prompt, repeat, onMismatch string) ([]byte, error) {
	t, err := a.IO.OpenTerminal()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", backends.ErrLocked, err)
	}
	defer t.Close()
	p1, err := t.ReadSecret(prompt)
	if err != nil {
		return nil, err
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
	return a.newPassphrase(ctx, "vault passphrase")
}

// showRecoveryCode shows the recovery code of a vault created by a first
// write. It goes to the terminal only: a code in a CI log is a leaked key.
func (a *App) showRecoveryCode(code string) {
	if a.IO.OpenTerminal != nil && a.IO.InIsTTY {
		if t, err := a.IO.OpenTerminal(); err == nil {
			defer t.Close()
			fmt.Fprintf(t, "kr: created a new vault in %s\nkr: recovery code: %s\nkr: write it down now: it is shown only once and is the only way back if the passphrase is lost\n", a.VaultDir, code)
			return
		}
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: created a new vault in %s; with no terminal its recovery code was not shown\nkr: hint: keep the passphrase safe, or create vaults with 'kr init', which prints the recovery code\n", a.VaultDir)
}
