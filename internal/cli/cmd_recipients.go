package cli

// kr vault recipients: who a vault's secrets are encrypted to, and which of
// them you accepted. A shared vault names its members; keys are
// always shown with their fingerprints.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

func newRecipientsCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "recipients",
		Short: "List, accept, add and remove the vault's recipients",
		Long: `Manage who the vault's secrets are encrypted to. Each key is shown with its
fingerprint (the first 64 bits of the SHA-256 of its age1 string), short
enough to compare over a call. A shared vault's vault.json names each member.

kr encrypts only to recipients you accepted (recorded in kr's config
directory, not in the vault): a key someone else wrote into vault.json stops
your writes until you accept it. Recipients protect confidentiality only:
anyone who can write the vault can still change values.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newRecipientsLsCmd(app), newRecipientsAcceptCmd(app),
		newRecipientsAddCmd(app), newRecipientsRmCmd(app))
	return c
}

func newRecipientsLsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the vault's recipients, their fingerprints and whether you accepted them",
		Long: `List every recipient in vault.json, one a line: its name, fingerprint, age1
key, "accepted" or "pending" (kr will not write until you accept it), and
"you" for your own key. The first column is the member's name ("-" where the
vault keeps none: a personal vault).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			all, err := v.Members()
			if err != nil {
				return err
			}
			pending, err := v.UnacceptedRecipients()
			if err != nil {
				return err
			}
			mine := app.myKeys(cmd.Context(), v)
			for _, r := range all {
				state := "accepted"
				if slices.Contains(pending, r.Key) {
					state = "pending"
				}
				if slices.Contains(mine, r.Key) {
					state += "  you"
				}
				if _, err := fmt.Fprintf(app.stdout(), "%s  %s  %s  %s\n", memberName(r.Name), recipients.Fingerprint(r.Key), r.Key, state); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newRecipientsAcceptCmd(app *App) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "accept [NAME|KEY|FINGERPRINT...]",
		Short: "Accept recipients listed in vault.json, so that kr encrypts to them",
		Long: `Accept the given recipients (name, age1 key or fingerprint) of the vault. With no
argument, list every pending recipient with its fingerprint, and every scope
change ('kr vault scope accept'); --yes accepts them all. That is trust on first use: check each fingerprint with its owner
first, because whoever can write vault.json can add a key of their own.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			rec, err := recipients.Default(app.Getenv)
			if err != nil {
				return err
			}
			var chosen []string
			if len(args) > 0 {
				all, err := v.Members()
				if err != nil {
					return err
				}
				for _, a := range args {
					r, err := matchRecipient(all, a, v.Dir())
					if err != nil {
						return err
					}
					chosen = append(chosen, r)
				}
			} else {
				pending, err := v.UnacceptedRecipients()
				if err != nil {
					return err
				}
				scopes, err := v.PendingScopes()
				if err != nil {
					return err
				}
				if len(pending) == 0 && len(scopes) == 0 {
					fmt.Fprintf(app.IO.ErrOut, "kr: every recipient of %s is accepted\n", v.Dir())
					return nil
				}
				members, err := v.Members()
				if err != nil {
					return err
				}
				for _, m := range members {
					if !slices.Contains(pending, m.Key) {
						continue
					}
					if _, err := fmt.Fprintf(app.stdout(), "%s  %s  %s  pending\n", memberName(m.Name), recipients.Fingerprint(m.Key), m.Key); err != nil {
						return err
					}
				}
				if err := app.printScopeChanges(v, scopes); err != nil {
					return err
				}
				if !yes {
					return withHint(fmt.Errorf("%s and %s of %s not accepted yet; nothing was accepted", plural(len(pending), "recipient"), plural(len(scopes), "scope change"), v.Dir()),
						"check each fingerprint with its owner, then run 'kr vault recipients accept --yes' (or name the ones to accept)")
				}
				chosen = pending
				// Trust on first use covers the scopes too: a fresh clone
				// has accepted none of them.
				for _, sc := range scopes {
					if err := v.AcceptScope(sc.Folder); err != nil {
						return err
					}
					fmt.Fprintf(app.IO.ErrOut, "kr: accepted the scope of %s/\n", sc.Folder)
				}
			}
			if err := rec.Accept(v.Dir(), chosen...); err != nil {
				return err
			}
			// In a signed vault the user's word is also a signature: an
			// entry no member signed is signed now, for the other clones.
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if err := v.Vouch(ctx, chosen); err != nil {
				return err
			}
			for _, r := range chosen {
				fmt.Fprintf(app.IO.ErrOut, "kr: accepted %s %s\n", recipients.Fingerprint(r), r)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "with no argument, accept every pending recipient (trust on first use)")
	return c
}

func newRecipientsAddCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "add NAME KEY",
		Short: "Add a member's age X25519 key and re-encrypt what they may read",
		Long: `Add the member NAME with KEY (age1..., what 'kr identity' prints on their
machine) to vault.json, accept it, and re-encrypt to the new set every secret
outside the scopes ('kr vault scope'); a scope's secrets stay with its own
members. This decrypts those secrets, so the vault must be readable
(unlocked, a passphrase, or KR_IDENTITY(_FILE)). A personal vault keeps no
names: there, give the key alone.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, key := "", strings.TrimSpace(args[len(args)-1])
			if len(args) == 2 {
				name = args[0]
				if err := filevault.ValidMemberName(name); err != nil {
					return usagef("%v", err)
				}
			}
			if _, err := age.ParseX25519Recipient(key); err != nil {
				return usagef("%q is not an age X25519 recipient (age1...): %v", key, err)
			}
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			if shared, err := v.Shared(); err == nil && shared && name == "" {
				return usagef("a shared vault names its members: kr vault recipients add NAME %s", key)
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			n, err := v.AddRecipient(ctx, name, key)
			if err != nil {
				return recipientChangeError(err, "add the recipient")
			}
			who := key
			if name != "" {
				who = name + " " + key
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: %s %s is a recipient of %s; re-encrypted %s\n", recipients.Fingerprint(key), who, v.Dir(), plural(n, "secret"))
			return nil
		},
	}
}

func newRecipientsRmCmd(app *App) *cobra.Command {
	var force bool
	c := &cobra.Command{
		Use:   "rm NAME|KEY|FINGERPRINT",
		Short: "Remove a recipient and re-encrypt what it could read",
		Long: `Remove a recipient from vault.json and from every scope, re-encrypt every
secret it could read to the remaining recipients, and forget it among the ones
you accepted. The names of the
secrets it could read are printed on stdout: copies made before (git
history, backups, clones) still open with its key, so rotate those values.
Removing your own key needs --force; the last recipient cannot be removed.
This decrypts every secret, so the vault must be readable.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			all, err := v.Members()
			if err != nil {
				return err
			}
			key, err := matchRecipient(all, args[0], v.Dir())
			if err != nil {
				return err
			}
			fp := recipients.Fingerprint(key)
			if !force && slices.Contains(app.myKeys(cmd.Context(), v), key) {
				return withHint(fmt.Errorf("%s %s is your own key: removing it leaves you unable to read %s", fp, key, v.Dir()),
					"add --force if that is what you want")
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			readable, err := v.RemoveRecipient(ctx, key)
			if err != nil {
				return recipientChangeError(err, "remove the recipient")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: removed %s %s from %s; re-encrypted %s\n", fp, key, v.Dir(), plural(len(readable), "secret"))
			if len(readable) > 0 {
				fmt.Fprintf(app.IO.ErrOut, "kr: the removed key could read these secrets, and git history still holds them: rotate these\n")
			}
			return app.printLines(readable)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "remove your own key too")
	return c
}

// matchRecipient finds arg, a member's name, an age1 key or a fingerprint
// (colons and case optional), among all. Names come from vault.json, which
// anyone who can push writes: one may be another member's key or
// fingerprint, so an arg that matches two recipients is refused.
func matchRecipient(all []filevault.Member, arg, dir string) (string, error) {
	arg = strings.TrimSpace(arg)
	want := strings.ReplaceAll(strings.ToLower(arg), ":", "")
	var found []string
	for _, r := range all {
		if r.Key == arg || (r.Name != "" && r.Name == arg) || strings.ReplaceAll(recipients.Fingerprint(r.Key), ":", "") == want {
			found = append(found, r.Key)
		}
	}
	switch len(found) {
	case 0:
		return "", withHint(fmt.Errorf("%q matches no recipient of %s", arg, dir), "'kr vault recipients ls' lists them")
	case 1:
		return found[0], nil
	}
	fps := make([]string, len(found))
	for i, k := range found {
		fps[i] = recipients.Fingerprint(k)
	}
	return "", withHint(fmt.Errorf("%q matches %d recipients of %s (fingerprints %s): a name in vault.json is another's key or fingerprint", arg, len(found), dir, strings.Join(fps, ", ")),
		"find out who wrote that name; 'kr vault recipients ls' shows each name's key")
}

// memberName is a name for a column: "-" for none.
func memberName(n string) string {
	if n == "" {
		return "-"
	}
	return n
}

// myKeys is who "you" are for this vault, as far as can be told without
// asking anything: none when there is no identity yet.
func (a *App) myKeys(ctx context.Context, v *filevault.Vault) []string {
	keys, err := a.myRecipients(ctx, false)
	if err != nil {
		keys = nil
	}
	if id, err := v.ID(); err == nil && !slices.Contains(keys, id) {
		keys = append(keys, id)
	}
	return keys
}

func recipientChangeError(err error, what string) error {
	var h hinter
	if errors.As(err, &h) {
		return withHint(fmt.Errorf("%s: %w", what, err), "%s", h.Hint())
	}
	return fmt.Errorf("%s: %w", what, err)
}
