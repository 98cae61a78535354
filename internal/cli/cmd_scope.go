package cli

// kr vault scope: folders of a shared vault that only some members read.

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

func newScopeCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "scope",
		Short: "Folders of the vault that only some members read",
		Long: `A scope makes some members the only readers of a folder's secrets: after
'kr vault scope set prod alice bob', everything under prod/ is encrypted to
alice and bob alone, while the rest of the vault goes to every member. The
scope is the file secrets/prod/.age-recipients, an age recipients file
('age -R' reads it); the nearest scope up a secret's path wins.

Whoever can push to the vault's repository can edit a scope file, so kr
widens no scope on the file's word: a scope that gained a member, or that
was removed, since you set or accepted it stops writes and syncs into its
folder until you accept the change ('kr vault scope accept').`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newScopeLsCmd(app), newScopeSetCmd(app), newScopeRmCmd(app), newScopeAcceptCmd(app))
	return c
}

func newScopeLsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the scopes and their members; \"pending\" marks a change you have not accepted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			scopes, err := v.Scopes()
			if err != nil {
				return err
			}
			members, err := v.Members()
			if err != nil {
				return err
			}
			pending, err := v.PendingScopes()
			if err != nil {
				return err
			}
			state := map[string]string{}
			for _, p := range pending {
				state[p.Folder] = "  pending"
			}
			for _, s := range scopes {
				if _, err := fmt.Fprintf(app.stdout(), "%s/  %s%s\n", s.Folder, memberLabels(members, s.Keys), state[s.Folder]); err != nil {
					return err
				}
			}
			for _, p := range pending {
				if p.Removed {
					if _, err := fmt.Fprintf(app.stdout(), "%s/  (scope removed)  pending\n", p.Folder); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
}

func newScopeSetCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "set FOLDER MEMBER...",
		Short: "Make MEMBERs the only readers of FOLDER's secrets, and re-encrypt them",
		Long: `Make the given members (names, keys or fingerprints of the vault's
recipients) the only readers of the secrets under FOLDER, replacing the
folder's scope if it has one, and re-encrypt those secrets. The secrets
re-encrypted are printed on stdout: if a member lost access, history still
holds what they could read, so rotate those values.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			members, err := v.Members()
			if err != nil {
				return err
			}
			var keys []string
			for _, a := range args[1:] {
				k, err := matchRecipient(members, a, v.Dir())
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			changed, err := v.SetScope(ctx, args[0], keys)
			if err != nil {
				return recipientChangeError(err, "set the scope")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: %s/ is read by %s; re-encrypted %s\n", strings.TrimSuffix(args[0], "/"), memberLabels(members, keys), plural(len(changed), "secret"))
			return app.printLines(changed)
		},
	}
}

func newScopeRmCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm FOLDER",
		Short: "Remove FOLDER's scope: its secrets go back to the folder above's readers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			changed, err := v.SetScope(ctx, args[0], nil)
			if err != nil {
				return recipientChangeError(err, "remove the scope")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: removed the scope of %s/; re-encrypted %s\n", strings.TrimSuffix(args[0], "/"), plural(len(changed), "secret"))
			return nil
		},
	}
}

func newScopeAcceptCmd(app *App) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "accept [FOLDER...]",
		Short: "Accept scope changes made in another clone (members added, or a scope removed)",
		Long: `Accept the current members of each named scope (or its removal). With no
argument, list every scope whose change you have not accepted, with the
members it gained; --yes accepts them all. Check a change with whoever made
it first: anyone who can push can edit a scope file.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			folders := args
			if len(folders) == 0 {
				pending, err := v.PendingScopes()
				if err != nil {
					return err
				}
				if len(pending) == 0 {
					fmt.Fprintf(app.IO.ErrOut, "kr: every scope of %s is accepted\n", v.Dir())
					return nil
				}
				if err := app.printScopeChanges(v, pending); err != nil {
					return err
				}
				if !yes {
					return withHint(fmt.Errorf("%s in %s not accepted yet; nothing was accepted", plural(len(pending), "scope change"), v.Dir()),
						"check each with whoever made it, then run 'kr vault scope accept --yes' (or name the folders)")
				}
				for _, p := range pending {
					folders = append(folders, p.Folder)
				}
			}
			for _, f := range folders {
				f = strings.TrimSuffix(f, "/")
				if err := v.AcceptScope(f); err != nil {
					return err
				}
				fmt.Fprintf(app.IO.ErrOut, "kr: accepted the scope of %s/\n", f)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&yes, "yes", false, "with no argument, accept every pending scope change")
	return c
}

// printScopeChanges lists scope changes on stdout: the folder and the
// members it gained (name, fingerprint, key), or that it was removed.
func (a *App) printScopeChanges(v *filevault.Vault, pending []filevault.ScopeChange) error {
	members, err := v.Members()
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, m := range members {
		names[m.Key] = memberName(m.Name)
	}
	for _, p := range pending {
		if p.Removed {
			if _, err := fmt.Fprintf(a.stdout(), "%s/  scope removed: its secrets would go to every member  pending\n", p.Folder); err != nil {
				return err
			}
			continue
		}
		for _, k := range p.Pending {
			if _, err := fmt.Fprintf(a.stdout(), "%s/  %s  %s  %s  pending\n", p.Folder, names[k], recipients.Fingerprint(k), k); err != nil {
				return err
			}
		}
	}
	return nil
}

// memberLabels names keys as "name fingerprint", comma-separated.
func memberLabels(members []filevault.Member, keys []string) string {
	var who []string
	for _, k := range keys {
		name := "-"
		for _, m := range members {
			if m.Key == k {
				name = memberName(m.Name)
			}
		}
		who = append(who, name+" "+recipients.Fingerprint(k))
	}
	return strings.Join(who, ", ")
}

// printLines writes each line to stdout; a failed write is the error.
func (a *App) printLines(lines []string) error {
	for _, l := range lines {
		if _, err := fmt.Fprintln(a.stdout(), l); err != nil {
			return err
		}
	}
	return nil
}
