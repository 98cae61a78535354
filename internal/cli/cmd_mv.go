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

// copyHelp is the help mv and cp share; a function, so that no start
// builds the store table for it.
func copyHelp() string {
	return `

Each name goes to its own home: a name under a mounted prefix to that vault,
any other to the service's store, so 'kr mv db/prod team/db/prod' moves a
secret into the vault mounted at team. With --from-backend STORE, OLD is read
from that store instead (` + storeAlternatives(knownStores()[1:]) + `), as after
'kr backend' switched stores: 'kr mv --from-backend file db/prod db/prod'.
The value is read and written again, byte for byte: in a file vault each
file binds its name inside the ciphertext, so there the vault must be
unlocked (the agent, KR_PASSPHRASE_FILE or a prompt), as for 'kr get'. NEW is
refused when it exists, unless --force.`
}

func newMvCmd(app *App) *cobra.Command {
	var force bool
	var from string
	cmd := &cobra.Command{
		Use:   "mv OLD NEW",
		Short: "Rename a secret",
		Long: `Rename the secret OLD to NEW. The value is written under NEW and read back;
only when it reads back identical is OLD removed, so a failure at any step
leaves OLD as it was (when only the removal fails, both names exist and kr
says so).` + copyHelp(),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: app.completeNames(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.copySecret(ctx, args[0], args[1], from, force, true)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace NEW when it exists")
	addFromBackend(cmd, &from)
	return cmd
}

func newCpCmd(app *App) *cobra.Command {
	var force bool
	var from string
	cmd := &cobra.Command{
		Use:               "cp OLD NEW",
		Short:             "Copy a secret to another name",
		Long:              `Store the value of the secret OLD under NEW as well.` + copyHelp(),
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: app.completeNames(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.copySecret(ctx, args[0], args[1], from, force, false)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace NEW when it exists")
	addFromBackend(cmd, &from)
	return cmd
}

func addFromBackend(cmd *cobra.Command, from *string) {
	cmd.Flags().StringVar(from, "from-backend", "", "read OLD from this store instead: "+storeAlternatives(knownStores()[1:]))
	registerCompletion(cmd, "from-backend", completeBackends())
}

// copySecret copies (or, with move, renames) from to to, each in its home
// (fromStore, when set, is the store from is read from instead). The value
// is never held by anything but the stores and this call: every failure
// before the last step leaves from untouched.
func (a *App) copySecret(ctx context.Context, from, to, fromStore string, force, move bool) error {
	verb := "cp"
	if move {
		verb = "mv"
	}
	for _, n := range []string{from, to} {
		if err := backends.ValidateName(n); err != nil {
			return err
		}
	}
	b, err := a.secrets()
	if err != nil {
		return err
	}
	src := b
	if fromStore != "" {
		if src, err = a.otherStore(ctx, fromStore, to); err != nil {
			return err
		}
	} else if from == to {
		return usagef("OLD and NEW are the same name %s", from)
	}
	// The store itself, never the agent's cache of OS-store values: a
	// cached copy may be older than the item.
	value, err := src.Get(ctx, from)
	if err != nil {
		if fromStore != "" {
			return err // that store names the operation and the secret
		}
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
	if fromStore == "" {
		a.dropCached(ctx, from)
	}
	if err := src.Delete(ctx, from); err != nil {
		if errors.Is(err, backends.ErrNotFound) {
			return nil // removed meanwhile: the rename is complete all the same
		}
		return withHint(fmt.Errorf("%s holds the value, but removing %s failed: %w; both exist now", to, from, err),
			"'kr rm %s' finishes the rename", from)
	}
	return nil
}

// otherStore opens the store named by --from-backend, which must not be
// where to goes: that would copy a value onto itself.
func (a *App) otherStore(ctx context.Context, name, to string) (backends.Backend, error) {
	native, fallback := a.stores()
	c, ok := backends.Lookup(name, native, fallback)
	if !ok {
		if !isKnownStore(name) || name == backends.Auto {
			return nil, usagef("--from-backend: unknown store %q (choose one of %s)", name, storeChoices(knownStores()[1:]))
		}
		return nil, usagef("--from-backend: %s does not exist on this system", name)
	}
	if _, mounted := a.mountOf(to); !mounted && a.storeName() == name {
		return nil, usagef("--from-backend %s is the store NEW goes to; name another store, or leave --from-backend out", name)
	}
	b, err := c.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Label, err)
	}
	return backends.Checked(b), nil
}
