package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// refuseSharedHelperStore stops a credential helper from writing a login
// into a file vault that members other than the user read: KR_VAULT may
// point at a team vault for other commands, and a personal token filed
// there would be encrypted to every member. A vault the user named in
// `kr setup` (config.HelperVaultsFile) takes logins: that is on purpose.
func (a *App) refuseSharedHelperStore(ctx context.Context, b backends.Backend, helper string) error {
	v, ok := backends.As[*filevault.Vault](b)
	if !ok || !v.Exists() {
		return nil
	}
	others, err := a.otherMembers(ctx, v)
	if err != nil || len(others) == 0 {
		return err
	}
	if named, err := a.helperVault(v.Dir()); err != nil || named {
		return err
	}
	return withHint(fmt.Errorf("%s: %s is a shared vault (%s reads it too): a credential helper never files your logins where others can read them; nothing was stored",
		helper, v.Dir(), memberName(others[0].Name)),
		"run git and docker without KR_VAULT (or --vault) naming a shared vault, so that logins go to your own store; to keep them there on purpose: kr setup git|docker --apply --vault %s", v.Dir())
}

// helperVault reports whether the user named the vault in dir in
// `kr setup` for credential helpers.
func (a *App) helperVault(dir string) (bool, error) {
	cdir, err := config.Dir(a.Getenv)
	if err != nil {
		return false, err
	}
	return config.HelperVault(cdir, dir)
}

// setupHelperVault records, when --vault named one on `kr setup`'s
// command line, the vault credential helpers may write into; KR_VAULT,
// which may be set for other reasons, names none here. Without apply it
// says what apply would record.
func (a *App) setupHelperVault(cmd *cobra.Command, apply bool) error {
	if !cmd.Flags().Changed("vault") {
		return nil
	}
	v, err := a.Vault()
	if err != nil {
		return err
	}
	if !apply {
		fmt.Fprintf(a.IO.Out, "# with --apply: credential helpers may file logins in %s, read by every member\n", v.Dir())
		return nil
	}
	cdir, err := config.Dir(a.Getenv)
	if err != nil {
		return err
	}
	if err := config.AddHelperVault(cdir, v.Dir()); err != nil {
		return fmt.Errorf("record %s for credential helpers: %w", v.Dir(), err)
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: credential helpers may file logins in %s (with KR_VAULT or --vault naming it); every member of that vault reads them\n", v.Dir())
	return nil
}

// otherMembers lists the members of a shared vault who are not the user.
// A single-user vault (its own identity) has none: its recipients are the
// user's devices.
func (a *App) otherMembers(ctx context.Context, v *filevault.Vault) ([]filevault.Member, error) {
	shared, err := v.Shared()
	if err != nil || !shared {
		return nil, err
	}
	all, err := v.Members()
	if err != nil {
		return nil, err
	}
	mine := a.myKeys(ctx, v)
	return slices.DeleteFunc(all, func(m filevault.Member) bool { return slices.Contains(mine, m.Key) }), nil
}

// helperItemsCheck is `kr doctor`'s word on logins credential helpers
// filed in a vault that other members read (by a kr before helpers
// refused to, or copied there): every member reads them. None, or none
// to warn about, is no line; a vault named in `kr setup` is told as
// info.
func (a *App) helperItemsCheck(ctx context.Context, v *filevault.Vault) []check {
	others, err := a.otherMembers(ctx, v)
	if err != nil {
		return []check{{"helper logins", "fail", err.Error()}}
	}
	if len(others) == 0 {
		return nil
	}
	var found []string
	for _, prefix := range []string{gitcred.NamePrefix, dockercred.NamePrefix} {
		names, err := v.List(ctx, prefix)
		if err != nil {
			return []check{{"helper logins", "fail", err.Error()}}
		}
		found = append(found, names...)
	}
	if len(found) == 0 {
		return nil
	}
	named, err := a.helperVault(v.Dir())
	if err != nil {
		return []check{{"helper logins", "fail", err.Error()}}
	}
	shown := found
	if len(shown) > 5 {
		shown = append(shown[:5:5], "...")
	}
	if named {
		return []check{{"helper logins", "info", fmt.Sprintf("%s of credential helpers in %s, which 'kr setup' named for them: %s", plural(len(found), "login"), v.Dir(), strings.Join(shown, ", "))}}
	}
	return []check{{"helper logins", "warn", fmt.Sprintf("%s of credential helpers in %s, which %s reads too: %s (remove them with 'kr rm' and change those passwords, or name the vault in 'kr setup git|docker --apply --vault' if they are meant for the team)",
		plural(len(found), "login"), v.Dir(), memberName(others[0].Name), strings.Join(shown, ", "))}}
}
