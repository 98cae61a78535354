package cli

// kr identity: a person's own identity, apart from any vault, which reads
// the shared vaults (cmd_vault.go) the person is a recipient of.

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

func newIdentityCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "identity",
		Short: "Print your public key (age1...), creating your identity on first use",
		Long: `Print your public key (age1...): what others add to a shared vault so that
you can read it. The first run creates your identity, an age X25519 key kept
in kr's data directory and wrapped by a passphrase (KR_PASSPHRASE_FILE,
KR_PASSPHRASE or a prompt asked twice) and a recovery code, shown once on the
terminal. With KR_IDENTITY_FILE or KR_IDENTITY set, it prints that
identity's key instead (one line per key in the file).

Each key's fingerprint goes to stderr ("kr: fingerprint 3f2a:09bc:77d1:e045"),
the short form teammates compare in 'kr vault recipients ls', so that stdout
stays the bare key for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			pubs, err := app.myRecipients(ctx, true)
			if err != nil {
				return err
			}
			for _, p := range pubs {
				if _, err := fmt.Fprintln(app.stdout(), p); err != nil {
					return err
				}
				fmt.Fprintf(app.IO.ErrOut, "kr: fingerprint %s\n", recipients.Fingerprint(p))
			}
			return nil
		},
	}
}

// personal is the user's own identity in kr's data directory.
func (a *App) personal() (*filevault.Personal, error) {
	dir, err := filevault.DefaultPersonalDir()
	if err != nil {
		return nil, withHint(fmt.Errorf("find the identity directory: %w", err), "set HOME or XDG_DATA_HOME")
	}
	return &filevault.Personal{Dir: dir, ScryptWorkFactor: a.scryptWorkFactor}, nil
}

// myRecipients is who "you" are: the keys of KR_IDENTITY(_FILE) when set,
// else the personal identity, created first when create is set.
func (a *App) myRecipients(ctx context.Context, create bool) ([]string, error) {
	keys, err := a.identityFromEnv()
	if err != nil {
		return nil, err
	}
	if keys != nil {
		pubs := keys.Recipients()
		if len(pubs) == 0 {
			return nil, errors.New("KR_IDENTITY(_FILE) holds no X25519 identity")
		}
		return pubs, nil
	}
	p, err := a.personal()
	if err != nil {
		return nil, err
	}
	pub, err := p.Recipient()
	if err == nil || !create || !errors.Is(err, filevault.ErrNoIdentity) {
		return []string{pub}, err
	}
	pass, err := a.newPassphrase(ctx, "identity passphrase", fmt.Sprintf("%s asks to create your identity in %s", a.asker(), p.Dir))
	if err != nil {
		return nil, err
	}
	defer clear(pass)
	pub, code, err := p.Create(ctx, pass)
	if err != nil {
		return nil, fmt.Errorf("create your identity: %w", err)
	}
	a.showCode(fmt.Sprintf("created your identity in %s", p.Dir), code,
		"keep the passphrase safe: it is the only way to your identity")
	return []string{pub}, nil
}

// loginName is the default member name: the user's login name made into a
// valid one ("CORP\\Jane Doe" is "Jane-Doe"), else "me".
func loginName() string {
	u, err := user.Current()
	if err != nil {
		return "me"
	}
	return memberNameFrom(u.Username)
}

func memberNameFrom(login string) string {
	if i := strings.LastIndexAny(login, `\/`); i >= 0 {
		login = login[i+1:]
	}
	b := []byte(login)
	for i, c := range b {
		if filevault.ValidMemberName(string(c)) != nil && !(i > 0 && (c == '.' || c == '-')) {
			b[i] = '-'
		}
	}
	name := strings.Trim(string(b), ".-")
	if len(name) > 64 {
		name = name[:64]
	}
	if filevault.ValidMemberName(name) != nil {
		return "me"
	}
	return name
}

func newIdentityRecoverCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Set a new passphrase for your identity with its recovery code",
		Long: `Open your identity with the recovery code shown when it was created and set
a new passphrase: the way back when the passphrase is lost, or on a machine
where no device binding opens it (the identity directory copied to a new
home). The code is asked on the terminal, or read from KR_RECOVERY_CODE_FILE;
the new passphrase from a prompt or KR_NEW_PASSPHRASE_FILE. The key stays the
same, so shared vaults and device bindings keep opening with it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := app.personal()
			if err != nil {
				return err
			}
			h, err := p.Home()
			if errors.Is(err, filevault.ErrNoIdentity) {
				return withHint(err, "'kr identity' creates one; a copied identity goes in %s", p.Dir)
			}
			if err != nil {
				return err
			}
			prompt := secretPrompt{
				about: fmt.Sprintf("%s asks to recover your identity (key %s) in %s", app.asker(), shortKey(h.Recipient), p.Dir),
				label: "Recovery code of your identity: ",
			}
			var code string
			err = app.retryTyped("wrong recovery code",
				"check KR_RECOVERY_CODE_FILE: it must hold the code shown when your identity was created",
				"check the code shown when your identity was created (case, spaces and dashes do not matter)",
				func() (bool, error) {
					var typed bool
					var err error
					if code, typed, err = app.recoveryCode(cmd.Context(), prompt); err != nil {
						return false, err
					}
					if !app.newPassphraseAsked() {
						return false, nil // Recover itself checks it, at no extra cost
					}
					return typed, p.CheckRecoveryCode(code)
				})
			if err != nil {
				return passphraseError(err, "recover your identity")
			}
			next, ok, err := app.readSecretFile("KR_NEW_PASSPHRASE_FILE")
			if !ok {
				next, err = app.askNewPassphrase(cmd.Context(), "", "New identity passphrase: ", "Repeat the new passphrase: ")
				if errors.Is(err, errNoTerminal) {
					err = withHint(errors.New("a new passphrase is needed and there is no terminal"), "set KR_NEW_PASSPHRASE_FILE")
				}
			}
			if err != nil {
				return err
			}
			defer clear(next)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if err := p.Recover(ctx, code, next); err != nil {
				return passphraseError(err, "recover your identity")
			}
			h.NoteUnlock("recovery code")
			fmt.Fprintf(app.IO.ErrOut, "kr: new passphrase set for your identity in %s\n", p.Dir)
			return nil
		},
	}
}
