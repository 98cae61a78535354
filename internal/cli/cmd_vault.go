package cli

// The file vault's commands: kr init, passwd and recover for a vault with a
// passphrase of its own, and the kr vault group for shared vaults, read
// with each member's identity (its subcommands join, recipients, scope and
// sync each have a file of their own).

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
)

func newVaultCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "vault",
		Short: "Shared vaults: vaults read with your identity, not a passphrase of their own",
		Args:  cobra.NoArgs,
	}
	var name, mountAt string
	initCmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Create a shareable vault in DIR whose only recipient is you",
		Long: `Create a vault in DIR that holds recipients and secrets but no identity:
each member reads it with their own identity ('kr identity', created on first
use). Its only recipient is you, named --name (your login name by default).
Mount it with --mount PREFIX (names under PREFIX/ then live there), or use it
with 'kr --vault DIR ...' or KR_VAULT; put DIR in git and share it with
'kr vault sync'.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				name = loginName()
			}
			if err := filevault.ValidMemberName(name); err != nil {
				return usagef("%v: give --name", err)
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if mountAt != "" {
				// Before the vault exists: a mount that cannot be made
				// should leave nothing half done.
				var err error
				if mountAt, err = app.checkMount(ctx, mountAt, args[0]); err != nil {
					return err
				}
			}
			pubs, err := app.myRecipients(ctx, true)
			if err != nil {
				return err
			}
			v, err := app.openVault(args[0], true, true)
			if err != nil {
				return err
			}
			// A fresh clone has the modes of the user's umask.
			if err := filevault.TightenModes(v.Dir()); err != nil {
				return fmt.Errorf("create the vault: %w", err)
			}
			if err := v.InitShared(ctx, name, pubs[0]); err != nil {
				return fmt.Errorf("create the vault: %w", err)
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: created a shared vault in %s; its recipient is you, %s %s\n", v.Dir(), name, pubs[0])
			if mountAt != "" {
				return app.mount(ctx, mountAt, v.Dir())
			}
			return nil
		},
	}
	initCmd.Flags().StringVar(&name, "name", "", "your name among the vault's members")
	initCmd.Flags().StringVar(&mountAt, "mount", "", "mount the new vault at this prefix ('kr mount')")
	c.AddCommand(initCmd)
	c.AddCommand(newJoinCmd(app), newRecipientsCmd(app), newScopeCmd(app), newSyncCmd(app), newVerifyCmd(app), newUpgradeCmd(app))
	return c
}

func newInitCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Create the file vault and print its recovery code",
		Long: `Create the age-encrypted file vault (--vault, KR_VAULT, or the default
directory). The passphrase comes from KR_PASSPHRASE_FILE, KR_PASSPHRASE or a
prompt asked twice. The recovery code is printed once, on stdout: keep it
somewhere safe, it opens the vault if the passphrase is lost ('kr recover').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.Vault()
			if err != nil {
				return err
			}
			if v.Exists() {
				return withHint(fmt.Errorf("a vault already exists in %s", v.Dir()), "'kr passwd' changes its passphrase; --vault DIR creates another")
			}
			pass, err := app.newPassphrase(cmd.Context(), "vault passphrase", fmt.Sprintf("%s asks to create a vault in %s", app.asker(), v.Dir()))
			if err != nil {
				return err
			}
			defer clear(pass)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			_, statErr := os.Lstat(v.Dir())
			dirExisted := statErr == nil
			code, err := v.Init(ctx, pass)
			if err != nil {
				return fmt.Errorf("create the vault: %w", err)
			}
			if _, err := fmt.Fprintln(app.stdout(), code); err != nil {
				// A vault whose recovery code nobody saw has no way back
				// if the passphrase is lost: take it back.
				if rmErr := removeNewVault(v.Dir(), dirExisted); rmErr != nil {
					return withHint(fmt.Errorf("%w; the vault in %s exists but its recovery code was never shown (removing it: %v)", err, v.Dir(), rmErr),
						"remove %s (it holds no secrets yet) and run 'kr init' again", v.Dir())
				}
				return withHint(err, "the recovery code could not be shown, so the new vault was removed; run 'kr init' again with stdout on a terminal or a file")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: created a vault in %s\nkr: its recovery code, on stdout, is shown only once: store it apart from the passphrase\n", v.Dir())
			return nil
		},
	}
}

func newPasswdCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Change the file vault's passphrase",
		Long: `Change the vault's passphrase. Only identity.age is rewritten; no secret is
re-encrypted. Non-interactively, the current passphrase comes from
KR_PASSPHRASE_FILE or KR_PASSPHRASE and the new one from KR_NEW_PASSPHRASE_FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.existingVault()
			if err != nil {
				return err
			}
			old, err := app.currentPassphrase(cmd.Context(), v)
			if err != nil {
				return err
			}
			defer clear(old)
			next, err := app.replacementPassphrase(cmd)
			if err != nil {
				return err
			}
			defer clear(next)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if err := v.Passwd(ctx, old, next); err != nil {
				return passphraseError(err, "change the passphrase")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: passphrase changed for %s\n", v.Dir())
			return nil
		},
	}
}

func newRecoverCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Set a new passphrase with the recovery code",
		Long: `Open the vault with the recovery code shown by 'kr init' and set a new
passphrase. The code is asked on the terminal, or read from KR_RECOVERY_CODE_FILE;
the new passphrase from a prompt or KR_NEW_PASSPHRASE_FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.existingVault()
			if err != nil {
				return err
			}
			code, err := app.checkedRecoveryCode(cmd.Context(), v)
			if err != nil {
				return err
			}
			next, err := app.replacementPassphrase(cmd)
			if err != nil {
				return err
			}
			defer clear(next)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if err := v.Recover(ctx, code, next); err != nil {
				return passphraseError(err, "recover the vault")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: new passphrase set for %s\n", v.Dir())
			return nil
		},
	}
}

// removeNewVault undoes 'kr init' of a vault no one has used yet. Without
// vault.json there is no vault (the file vault writes it last), so only its
// removal must succeed; the rest is tidying, and a directory is removed
// only when empty.
func removeNewVault(dir string, dirExisted bool) error {
	if err := os.Remove(filepath.Join(dir, "vault.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	os.Remove(filepath.Join(dir, "identity.age"))
	os.Remove(filepath.Join(dir, "recovery.age"))
	os.Remove(filepath.Join(dir, "secrets"))
	if !dirExisted {
		os.Remove(filepath.Join(dir, ".lock"))
		os.Remove(dir)
	}
	return nil
}

func (a *App) existingVault() (*filevault.Vault, error) {
	v, err := a.Vault()
	if err != nil {
		return nil, err
	}
	if !v.Exists() {
		return nil, withHint(fmt.Errorf("no vault in %s", v.Dir()), "'kr init' creates one")
	}
	return v, nil
}

// newPassphraseAsked reports whether passwd and recover will ask for the
// new passphrase at the terminal: then what opens the vault is checked
// first, so that a typo is not found out after the new one was typed twice.
func (a *App) newPassphraseAsked() bool {
	return a.Getenv("KR_NEW_PASSPHRASE_FILE") == ""
}

// currentPassphrase reads the passphrase for passwd and checks it before
// the new one is asked. Typed at the terminal, it may be typed again.
func (a *App) currentPassphrase(ctx context.Context, v *filevault.Vault) ([]byte, error) {
	p, err := a.vaultPrompt(v, "change the passphrase of %s", "Current passphrase of that vault: ")
	if err != nil {
		return nil, err
	}
	var pass []byte
	err = a.retryTyped("wrong passphrase",
		"check KR_PASSPHRASE_FILE or KR_PASSPHRASE; "+lostPassphraseHint, lostPassphraseHint,
		func() (bool, error) {
			typed := a.typed
			var err error
			if pass, err = a.passphrase(ctx, p); err != nil {
				return false, err
			}
			if !a.newPassphraseAsked() {
				return false, nil // Passwd itself checks it, at no extra cost
			}
			if err = v.CheckPassphrase(pass); err != nil {
				clear(pass)
				pass = nil
			}
			return a.typed != typed, err
		})
	if errors.Is(err, filevault.ErrBadPassphrase) {
		return nil, passphraseError(err, "change the passphrase")
	}
	return pass, err
}

// checkedRecoveryCode reads the recovery code for recover and checks it
// before the new passphrase is asked. Typed at the terminal, it may be
// typed again.
func (a *App) checkedRecoveryCode(ctx context.Context, v *filevault.Vault) (string, error) {
	p, err := a.vaultPrompt(v, "recover %s", "Recovery code of that vault: ")
	if err != nil {
		return "", err
	}
	var code string
	err = a.retryTyped("wrong recovery code",
		"check KR_RECOVERY_CODE_FILE: it must hold the code 'kr init' printed",
		"check the code 'kr init' printed (case, spaces and dashes do not matter)",
		func() (bool, error) {
			var typed bool
			var err error
			if code, typed, err = a.recoveryCode(ctx, p); err != nil {
				return false, err
			}
			if !a.newPassphraseAsked() {
				return false, nil // Recover itself checks it, at no extra cost
			}
			return typed, v.CheckRecoveryCode(code)
		})
	if errors.Is(err, filevault.ErrBadPassphrase) {
		return "", passphraseError(err, "recover the vault")
	}
	return code, err
}

// replacementPassphrase reads the new passphrase for passwd and recover.
func (a *App) replacementPassphrase(cmd *cobra.Command) ([]byte, error) {
	if p, ok, err := a.readSecretFile("KR_NEW_PASSPHRASE_FILE"); ok {
		return p, err
	}
	p, err := a.askNewPassphrase(cmd.Context(), "", "New vault passphrase: ", "Repeat the new passphrase: ")
	if errors.Is(err, errNoTerminal) {
		return nil, withHint(errors.New("a new passphrase is needed and there is no terminal"), "set KR_NEW_PASSPHRASE_FILE")
	}
	return p, err
}

// recoveryCode reads the recovery code from KR_RECOVERY_CODE_FILE or the
// terminal; typed says which.
func (a *App) recoveryCode(ctx context.Context, p secretPrompt) (code string, typed bool, err error) {
	if b, ok, err := a.readSecretFile("KR_RECOVERY_CODE_FILE"); ok {
		defer clear(b)
		return string(b), false, err
	}
	b, err := a.askSecret(ctx, p)
	if errors.Is(err, errNoTerminal) {
		return "", false, withHint(errors.New("the recovery code is needed and there is no terminal"), "set KR_RECOVERY_CODE_FILE")
	}
	if err != nil {
		return "", false, err
	}
	defer clear(b)
	return strings.TrimSpace(string(b)), true, nil
}

// vaultPrompt is the ask, for passwd and recover, for what opens v: the
// vault, its key and who asked.
func (a *App) vaultPrompt(v *filevault.Vault, what, label string) (secretPrompt, error) {
	id, err := v.ID()
	if err != nil {
		return secretPrompt{}, err
	}
	p := a.unlockPrompt(v.Dir(), id, false, "", what)
	p.label = label
	return p, nil
}

func passphraseError(err error, what string) error {
	if errors.Is(err, filevault.ErrBadPassphrase) {
		hint := "check the passphrase or recovery code and try again"
		var h hinter
		if errors.As(err, &h) {
			hint = h.Hint()
		}
		return withHint(fmt.Errorf("%s: %w; nothing was changed", what, err), "%s", hint)
	}
	return fmt.Errorf("%s: %w", what, err)
}
