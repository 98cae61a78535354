package cli

// kr vault scope: folders of a shared vault that only some members read.

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

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
('age -R' reads it); the nearest scope up a secret's path wins.`,
		Args: cobra.NoArgs,
	}
	c.AddCommand(newScopeLsCmd(app), newScopeSetCmd(app), newScopeRmCmd(app))
	return c
}

func newScopeLsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the scopes and their members",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.existingVault()
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
			names := map[string]string{}
			for _, m := range members {
				names[m.Key] = memberName(m.Name)
			}
			for _, s := range scopes {
				var who []string
				for _, k := range s.Keys {
					who = append(who, names[k]+" "+recipients.Fingerprint(k))
				}
				if _, err := fmt.Fprintf(app.stdout(), "%s/  %s\n", s.Folder, strings.Join(who, ", ")); err != nil {
					return err
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
			v, err := app.existingVault()
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
			fmt.Fprintf(app.IO.ErrOut, "kr: %s/ is read by %d member(s); re-encrypted %d secret(s)\n", strings.TrimSuffix(args[0], "/"), len(keys), len(changed))
			for _, name := range changed {
				if _, err := fmt.Fprintln(app.stdout(), name); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newScopeRmCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm FOLDER",
		Short: "Remove FOLDER's scope: its secrets go back to the folder above's readers",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.existingVault()
			if err != nil {
				return err
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			changed, err := v.SetScope(ctx, args[0], nil)
			if err != nil {
				return recipientChangeError(err, "remove the scope")
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: removed the scope of %s/; re-encrypted %d secret(s)\n", strings.TrimSuffix(args[0], "/"), len(changed))
			return nil
		},
	}
}
