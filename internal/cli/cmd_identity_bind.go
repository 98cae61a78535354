package cli

// kr identity bind|unbind|status: identities opened by something of this
// device (bind.go) as well as by their passphrase and recovery code.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/limitio"
)

// newIdentityWithBindCmd is `kr identity` with its subcommands.
func newIdentityWithBindCmd(app *App) *cobra.Command {
	c := newIdentityCmd(app)
	c.AddCommand(newIdentityBindCmd(app), newIdentityUnbindCmd(app), newIdentityStatusCmd(app), newIdentityRecoverCmd(app))
	return c
}

// bindTarget is an identity of the user's that bindings apply to.
type bindTarget struct {
	name  string // for people: "your identity", "the vault DIR"
	label string // name without the directory: "your identity", "the vault"
	home  filevault.IdentityHome
}

// bindTargets are the user's identities: the personal one (shared vaults)
// when it exists, and the file vault's own when that vault exists and is
// not shared.
func (a *App) bindTargets() ([]bindTarget, error) {
	var out []bindTarget
	p, err := a.personal()
	if err != nil {
		return nil, err
	}
	h, err := p.Home()
	switch {
	case err == nil:
		out = append(out, bindTarget{name: "your identity", label: "your identity", home: h})
	case !errors.Is(err, filevault.ErrNoIdentity):
		return nil, err
	}
	v, err := a.Vault()
	if err != nil {
		return nil, err
	}
	if v.Exists() {
		h, own, err := v.Home()
		if err != nil {
			return nil, err
		}
		if own {
			out = append(out, bindTarget{name: "the vault " + v.Dir(), label: "the file vault", home: h})
		}
	}
	if len(out) == 0 {
		return nil, withHint(errors.New("there is no identity to bind: no identity of yours and no file vault of its own"),
			"'kr identity' creates your identity; 'kr init' a file vault")
	}
	return out, nil
}

func newIdentityBindCmd(app *App) *cobra.Command {
	var pin bool
	cmd := &cobra.Command{
		Use:   "bind os|tpm|plugin [IDENTITY-FILE]",
		Short: "Let this device open your identities without the passphrase",
		Long: `Bind your identity (and the file vault's own, when it has one) to this
device: a second wrapping of the same key, opened by

  os       a random key kept in the OS store (the login keyring, the
           Keychain, Credential Manager). Anything you run can read that
           item while the store is unlocked: this lowers your identity's
           protection to the login keyring's.
  tpm      a random key sealed to this machine's TPM 2.0 (KR_TPM names
           another: a device, or unix:PATH for swtpm), with --pin a PIN the
           TPM checks. The identity then opens only on this machine, or
           with the passphrase.
  plugin   a random key encrypted to an age plugin identity, read from
           IDENTITY-FILE ("-" for stdin) as age-plugin-yubikey --identity
           prints it: the plugin (and its token) is asked at each unlock,
           then the agent holds the identity as usual.

The passphrase is asked to bind (the recovery code, given in its place, opens
the identity for that too). Both keep opening the identity: a binding is only
tried first. 'kr identity unbind' removes it.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("name what to bind to: os, tpm or plugin")
			}
			want := 1
			if args[0] == "plugin" {
				want = 2
			}
			if len(args) != want {
				if want == 2 {
					return usagef("bind plugin takes the age plugin identity file (\"-\" for stdin)")
				}
				return usagef("bind %s takes no more arguments", oneLine(args[0]))
			}
			return nil
		},
		ValidArgs: []string{"os", "tpm", "plugin"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if pin && args[0] != "tpm" {
				return usagef("--pin is for bind tpm")
			}
			return app.bind(ctx, args[0], args[1:], pin)
		},
	}
	cmd.Flags().BoolVar(&pin, "pin", false, "bind tpm: ask for a PIN (asked twice) that the TPM checks at each unlock")
	return cmd
}

func (a *App) bind(ctx context.Context, kind string, args []string, pin bool) error {
	identity := ""
	if kind == "plugin" {
		var b []byte
		var err error
		if args[0] == "-" {
			b, err = limitio.Read(a.IO.In, "stdin", 64<<10)
		} else {
			b, err = limitio.ReadFile(args[0], 64<<10)
		}
		if err != nil {
			return err
		}
		if identity, err = parsePluginIdentity(b, args[0]); err != nil {
			return withHint(err, "age-plugin-yubikey --identity, age-plugin-tpm --generate and the like print one")
		}
	}
	k, err := a.keeperOf(kind, identity)
	if err != nil {
		return err
	}
	if tk, ok := k.(*tpmKeeper); ok {
		tk.pin = pin
	}
	targets, err := a.bindTargets()
	if err != nil {
		return err
	}
	for _, t := range targets {
		if err := a.bindOne(ctx, t, kind, k); err != nil {
			return fmt.Errorf("bind %s to %s: %w", t.name, k.what(), err)
		}
		fmt.Fprintf(a.IO.ErrOut, "kr: bound %s to %s; its passphrase and recovery code still open it\n", t.name, k.what())
	}
	if kind == "os" {
		fmt.Fprintf(a.IO.ErrOut, "kr: any program you run can read that key while %s is unlocked: 'kr identity unbind os' undoes this\n", k.what())
	}
	return nil
}

func (a *App) bindOne(ctx context.Context, t bindTarget, kind string, k keeper) error {
	pass, err := a.passphrase(ctx, secretPrompt{
		about: fmt.Sprintf("%s asks to bind %s (key %s) to %s", a.asker(), t.name, shortKey(t.home.Recipient), k.what()),
		label: "Passphrase (or recovery code) of that identity: ",
	})
	if err != nil {
		return err
	}
	defer clear(pass)
	key, err := filevault.NewBindingKey()
	if err != nil {
		return err
	}
	defer clear(key)
	stored, err := k.keep(ctx, t.home, key)
	if err != nil {
		return err
	}
	if err := t.home.Bind(ctx, kind, pass, key, stored); err != nil {
		k.drop(ctx, t.home)
		return err
	}
	return nil
}

// shortKey is an age1 key cut for a prompt line.
func shortKey(pub string) string {
	if len(pub) > 20 {
		return pub[:12] + "..." + pub[len(pub)-6:]
	}
	return pub
}

func newIdentityUnbindCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "unbind [os|tpm|plugin]",
		Short: "Remove device bindings (all, or one kind): the passphrase remains",
		Long: `Remove the device bindings of your identities (all of them, or the kind
named): the wrapping in the identity's directory and the key it used (the
OS store's item). The passphrase and recovery code open the identity as
before.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"os", "tpm", "plugin"},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			return app.unbind(ctx, args)
		},
	}
}

func (a *App) unbind(ctx context.Context, args []string) error {
	if len(args) == 1 && !slices.Contains(filevault.BindingKinds, args[0]) {
		return usagef("unknown binding %q (one of os, tpm, plugin)", oneLine(args[0]))
	}
	targets, err := a.bindTargets()
	if err != nil {
		return err
	}
	removed := 0
	for _, t := range targets {
		kinds, err := t.home.Bindings()
		if err != nil {
			return err
		}
		for _, kind := range kinds {
			if len(args) == 1 && kind != args[0] {
				continue
			}
			// The wrapping first: once it is gone the key opens nothing,
			// so a key the store fails to drop is no way in.
			if err := t.home.Unbind(ctx, kind); err != nil {
				return fmt.Errorf("unbind %s from %s: %w", t.name, kind, err)
			}
			removed++
			fmt.Fprintf(a.IO.ErrOut, "kr: unbound %s from %s\n", t.name, kind)
			if k, err := a.keeperOf(kind, ""); err == nil {
				if err := k.drop(ctx, t.home); err != nil {
					fmt.Fprintf(a.IO.ErrOut, "kr: warning: %s kept its key (it opens nothing now): %v\n", k.what(), err)
				}
			}
		}
	}
	if removed == 0 {
		what := "no device binding"
		if len(args) == 1 {
			what = "no " + args[0] + " binding"
		}
		return withHint(fmt.Errorf("%w: your identities have %s", filevault.ErrNoBinding, what), "'kr identity status' lists them")
	}
	return nil
}

func newIdentityStatusCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Which device bindings your identities have, and how each was last opened",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			targets, err := app.bindTargets()
			if err != nil {
				return err
			}
			w := app.stdout()
			for _, t := range targets {
				kinds, err := t.home.Bindings()
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\n  directory    %s\n  key          %s\n", upperFirst(t.label), t.home.Dir, t.home.Recipient)
				if len(kinds) == 0 {
					fmt.Fprintf(w, "  bindings     none: the passphrase or recovery code opens it\n")
				} else {
					var names []string
					for _, kind := range kinds {
						names = append(names, app.bindingDescription(t.home, kind))
					}
					fmt.Fprintf(w, "  bindings     %s (then the passphrase or recovery code)\n", strings.Join(names, ", "))
				}
				if how, since := t.home.LastUnlock(); how != "" {
					fmt.Fprintf(w, "  last unlock  %s (that way since %s)\n", how, since.Local().Format("2006-01-02 15:04"))
				}
			}
			return nil
		},
	}
}

// bindingDescription is a binding as status lists it: the kind and what
// keeps its key.
func (a *App) bindingDescription(h filevault.IdentityHome, kind string) string {
	if kind == "plugin" {
		if stored, err := h.Keeper(kind); err == nil {
			line, _, _ := strings.Cut(string(stored), "\n")
			return kind + " (" + (&pluginKeeper{identity: line}).what() + ")"
		}
	}
	if k, err := a.keeperOf(kind, ""); err == nil {
		return kind + " (" + k.what() + ")"
	}
	return kind
}
