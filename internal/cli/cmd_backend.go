package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
)

func newBackendCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "backend [NAME]",
		Short: "Show or change the store a service uses",
		Long: `Without NAME, show the store kr uses for the service (--service, KR_SERVICE):
the one recorded, or, when nothing is recorded yet, the one the first write would
choose and record. With NAME (` + storeAlternatives(knownStores()[1:]) + `), record that
store for the service on this operating system; 'auto' forgets the record, so the
next write chooses again. Secrets already stored stay where they are: move
them with 'kr mv --from-backend OLD NAME NAME', or copy a whole store with
'kr export --keep-names --format json "" | kr import -'.

--backend and KR_BACKEND still choose a store for one command.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: knownStores(),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A damaged record is reported, with its hint, before anything.
			if _, err := app.storeRecord(); err != nil {
				return err
			}
			if len(args) == 0 {
				return app.showBackend(cmd)
			}
			name := args[0]
			native, fallback := app.stores()
			if _, ok := backends.Lookup(name, native, fallback); !ok && name != backends.Auto {
				if !isKnownStore(name) {
					return usagef("unknown backend %q (choose one of %s)", name, storeChoices(knownStores()))
				}
				return usagef("backend %s does not exist on %s", name, runtime.GOOS)
			}
			if name == backends.Auto {
				name = ""
			}
			var was string
			err := app.updateRecord(func(rec *config.Stores) error {
				was = rec.Get(app.Service, runtime.GOOS)
				rec.Set(app.Service, runtime.GOOS, name)
				return nil
			})
			if err != nil {
				return err
			}
			switch {
			case name == "":
				fmt.Fprintf(app.IO.ErrOut, "kr: service %s has no recorded store now; the next write chooses one\n", app.Service)
			case was != "" && was != name:
				fmt.Fprintf(app.IO.ErrOut, "kr: service %s now uses %s; secrets stored in %s stay there (move them with 'kr mv --from-backend %s NAME NAME')\n", app.Service, name, was, was)
			}
			return nil
		},
	}
}

// showBackend prints the store the service uses and why.
func (a *App) showBackend(cmd *cobra.Command) error {
	recorded, err := a.recordedStore()
	if err != nil {
		return err
	}
	rec, err := a.storeRecord()
	if err != nil {
		return err
	}
	var line string
	switch {
	case a.vaultNamed != "":
		line = fmt.Sprintf("file, the vault %s (named by %s for this command)", a.VaultDir, a.vaultNamed)
	case a.explicitBackend():
		line = fmt.Sprintf("%s (named by --backend or KR_BACKEND for this command)", a.BackendName)
	case recorded != "":
		line = fmt.Sprintf("%s (recorded for service %s in %s)", recorded, a.Service, rec.Path())
	default:
		ctx, cancel := a.context(cmd.Context())
		defer cancel()
		b, err := a.Backend(ctx)
		if err != nil {
			return err
		}
		line = fmt.Sprintf("%s (nothing recorded for service %s yet; the first write records it: %s)", b.Name(), a.Service, a.choice.Why)
	}
	_, err = fmt.Fprintln(a.IO.Out, line)
	return err
}
