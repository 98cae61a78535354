package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
)

const copyHelp = `

Both names are in the store this command uses. The value is read and written
again: in the file vault each file binds its name inside the ciphertext, so
there the vault must be unlocked (the agent, KR_PASSPHRASE_FILE or a prompt),
as for 'kr get'. NEW is refused when it exists, unless --force.`

func newMvCmd(app *App) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "mv OLD NEW",
		Aliases: []string{"rename", "move"},
		Short:   "Rename a secret",
		Long: `Rename the secret OLD to NEW. The value is written under NEW and read back;
only when it reads back identical is OLD removed, so a failure at any step
leaves OLD as it was (when only the removal fails, both names exist and kr
says so).` + copyHelp,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: app.completeNames(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.copySecret(ctx, args[0], args[1], force, true)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace NEW when it exists")
	return cmd
}

func newCpCmd(app *App) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:               "cp OLD NEW",
		Short:             "Copy a secret to another name",
		Long:              `Store the value of the secret OLD under NEW as well.` + copyHelp,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: app.completeNames(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.copySecret(ctx, args[0], args[1], force, false)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace NEW when it exists")
	return cmd
}

// copySecret copies (or, with move, renames) from to to in the store of
// this run. The value is never held by anything but the store and this
// call: every failure before the last step leaves from untouched.
func (a *App) copySecret(ctx context.Context, from, to string, force, move bool) error {
	verb := "cp"
	if move {
		verb = "mv"
	}
	for _, n := range []string{from, to} {
		if err := backends.ValidateName(n); err != nil {
			return err
		}
	}
	if from == to {
		return usagef("OLD and NEW are the same name %s", from)
	}
	b, err := a.Backend(ctx)
	if err != nil {
		return err
	}
	// The store itself, never the agent's cache of OS-store values: a
	// cached copy may be older than the item.
	value, err := b.Get(ctx, from)
	if err != nil {
		return a.getError(ctx, from, err)
	}
	defer clear(value)
	if !force {
		// List, not Get: whether NEW exists needs none of its value, and
		// List sees items a lookup without unlocking might miss.
		names, err := b.List(ctx, to)
		if err != nil {
			return fmt.Errorf("look for %s: %w", to, err)
		}
		if slices.Contains(names, to) {
			return withHint(fmt.Errorf("%s already exists; nothing was changed", to),
				"'kr %s --force %s %s' replaces it", verb, from, to)
		}
	}
	if err := b.Set(ctx, to, value); err != nil {
		return fmt.Errorf("%w; %s is unchanged", err, from)
	}
	a.dropCached(ctx, to)
	if err := a.recordChoice(); err != nil {
		return err
	}
	if !move {
		return nil
	}
	// Remove OLD only once NEW is known to hold the same value: a store
	// that rewrote it, or a write that did not land, must not cost the
	// only copy.
	got, err := b.Get(ctx, to)
	if err != nil {
		return fmt.Errorf("read %s back: %w; %s was kept", to, err, from)
	}
	same := bytes.Equal(got, value)
	clear(got)
	if !same {
		return withHint(fmt.Errorf("%s does not read back identical; %s was kept", to, from),
			"check 'kr get %s'; 'kr rm %s' removes the copy", to, to)
	}
	a.dropCached(ctx, from)
	if err := b.Delete(ctx, from); err != nil {
		if errors.Is(err, backends.ErrNotFound) {
			return nil // removed meanwhile: the rename is complete all the same
		}
		return withHint(fmt.Errorf("%s holds the value, but removing %s failed: %w; both exist now", to, from, err),
			"'kr rm %s' finishes the rename", from)
	}
	return nil
}
