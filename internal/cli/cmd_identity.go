package cli

// kr identity and kr vault init: a person's own identity, apart from any
// vault, and vaults shared by recipients that hold no identity.

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
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
identity's key instead (one line per key in the file).`,
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
			}
			return nil
		},
	}
}

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
	pass, err := a.newPassphrase(ctx, "identity passphrase")
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
