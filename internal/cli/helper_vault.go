package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
)

// refuseSharedHelperStore stops a credential helper from writing a login
// into a file vault that members other than the user read: KR_VAULT may
// point at a team vault for other commands, and a personal token filed
// there would be encrypted to every member.
func (a *App) refuseSharedHelperStore(ctx context.Context, b backends.Backend, helper string) error {
	v, ok := backends.Unwrap(b).(*filevault.Vault)
	if !ok || !v.Exists() {
		return nil
	}
	others, err := a.otherMembers(ctx, v)
	if err != nil || len(others) == 0 {
		return err
	}
	return withHint(fmt.Errorf("%s: %s is a shared vault (%s reads it too): a credential helper never files your logins where others can read them; nothing was stored",
		helper, v.Dir(), memberName(others[0].Name)),
		"run git and docker without KR_VAULT (or --vault) naming a shared vault, so that logins go to your own store")
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
