package cli

// kr vault verify and kr vault upgrade: a signed shared vault's checks,
// whole, and turning an unsigned one into a signed one.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
)

func newVerifyCmd(app *App) *cobra.Command {
	var adopt bool
	c := &cobra.Command{
		Use:   "verify [--adopt NAME...]",
		Short: "Check every signature of a signed vault you can read; --adopt signs the named secrets",
		Long: `Check the vault as every read would: in a signed vault, that vault.json's
members lead from the keys you trust and its list is signed by one of them,
that each scope is signed by a member, and that each secret you can read is
signed by a member who reads its folder, for this vault, name, recipients and
value, and is not older than what this clone has seen. A file that fails is
named with the commit that brought it; the exit code is 1.

--adopt NAME... signs the named secrets as you, after you have looked at
them: files written before the vault was signed, or that a check refuses but
whose value you know to be right.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if adopt {
				if len(args) == 0 {
					return usagef("--adopt needs the names of the secrets to sign")
				}
				done, err := v.Adopt(ctx, args)
				if err != nil {
					return err
				}
				for _, n := range done {
					fmt.Fprintf(app.IO.ErrOut, "kr: signed %s\n", n)
				}
				return nil
			}
			if len(args) > 0 {
				return usagef("verify checks the whole vault; names go with --adopt")
			}
			r, err := v.Verify(ctx)
			if err != nil {
				return err
			}
			return app.reportVerified(ctx, v, r)
		},
	}
	c.Flags().BoolVar(&adopt, "adopt", false, "sign the named secrets as you")
	return c
}

// reportVerified prints what Verify found, each problem with the commit
// that brought its file, and fails when there is one.
func (a *App) reportVerified(ctx context.Context, v *filevault.Vault, r *filevault.Verified) error {
	for _, p := range r.Problems {
		err := a.traceDamage(ctx, p)
		fmt.Fprintf(a.IO.ErrOut, "kr: %v\n", err)
		var h hinter
		if errors.As(err, &h) {
			fmt.Fprintf(a.IO.ErrOut, "kr: hint: %s\n", h.Hint())
		}
	}
	what := "unsigned vault"
	if r.Signed {
		what = "signed vault"
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: %s %s: %s checked, %d you cannot read, %d refused\n", what, v.Dir(), plural(len(r.Checked), "secret"), len(r.Unreadable), len(r.Problems))
	if len(r.Problems) > 0 {
		return fmt.Errorf("%s of %s failed the check", plural(len(r.Problems), "file"), v.Dir())
	}
	return nil
}

func newUpgradeCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Turn an unsigned shared vault (version 2) into a signed one (version 3)",
		Long: `Sign the vault: a new vault id at membership epoch 1, every member's entry
and the member list signed by you (every member must be accepted), every scope
and every secret you can read signed by you. An older kr then refuses the
vault, naming the version it needs. Secrets you cannot read stay unsigned and
are refused until a member who reads them runs 'kr vault verify --adopt'.
A fresh clone joins the upgraded vault trusting your fingerprint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			r, err := v.Upgrade(ctx)
			if err != nil {
				return fmt.Errorf("upgrade: %w", err)
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: signed %s: %s and %s signed by you\n", v.Dir(), plural(len(r.Signed), "secret"), plural(len(r.Scopes), "scope"))
			if len(r.Unreadable) > 0 {
				fmt.Fprintf(app.IO.ErrOut, "kr: %s you cannot read stay unsigned, and are refused until a member who reads them signs them: %s\nkr: hint: 'kr vault verify --adopt NAME...'\n", plural(len(r.Unreadable), "secret"), strings.Join(r.Unreadable, ", "))
			}
			return nil
		},
	}
}

// signatureCheck is kr doctor's run of kr vault verify on a signed vault.
func (a *App) signatureCheck(ctx context.Context, v *filevault.Vault) []check {
	// Whether it is signed first: verifying decrypts every secret, which
	// an unsigned vault's warning does not need.
	signed, err := v.Signed()
	if err == nil && !signed {
		return []check{{"signatures", "warn", "the vault is not signed: whoever can push can change a value or add a reader unnoticed ('kr vault upgrade' signs it)"}}
	}
	r, err := v.Verify(ctx)
	switch {
	case err != nil:
		return []check{{"signatures", "fail", err.Error()}}
	case len(r.Problems) > 0:
		// Each names its file; 'kr vault verify' adds the commits.
		var what []string
		for _, p := range r.Problems {
			what = append(what, p.Error())
		}
		return []check{{"signatures", "fail", strings.Join(what, "; ")}}
	}
	return []check{{"signatures", "ok", fmt.Sprintf("%s checked, %d you cannot read", plural(len(r.Checked), "secret"), len(r.Unreadable))}}
}
