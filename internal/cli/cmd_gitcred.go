package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/internal/credkit"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// newGitCredentialCmd is git's credential helper, what kr runs as when
// invoked as git-credential-kr (credential.helper = kr).
func newGitCredentialCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "git-credential get|store|erase",
		Short:  "Git credential helper (run by git as git-credential-kr)",
		Hidden: true,
		Long: `Speak git's credential helper protocol on stdin and stdout. Git runs it as
git-credential-kr once 'kr setup git' configured credential.helper. Any other
action is ignored, as git asks of helpers.`,
		// An action git adds later must be ignored, not refused: the
		// command takes any arguments and does nothing for unknown ones.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return nil },
	}
	for _, action := range []string{"get", "store", "erase"} {
		cmd.AddCommand(&cobra.Command{
			Use:    action,
			Short:  action + " a credential (attributes on stdin)",
			Hidden: true, // as their parent: git runs them, people do not
			Args:   cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return app.gitCredential(cmd.Context(), action)
			},
		})
	}
	return cmd
}

// gitCredential runs one action. Its request is read first, all of it,
// before any store is opened: git writes the request and then waits.
// Nothing but the answer goes to stdout; a failure is one line on stderr
// and a non-zero exit, which git reports and moves past.
func (a *App) gitCredential(parent context.Context, action string) error {
	a.requester = "git" // a prompt names the program it serves, not git's shell
	ctx, cancel := a.context(parent)
	defer cancel()
	h := gitcred.Server{Open: a.gitLayout, Stored: a.recordChoice}
	return a.serveHelper(ctx, h, action)
}

// gitLayout opens the store kr uses for the service and gives the layout
// git's own helper for that store uses, as the registry's entry says.
func (a *App) gitLayout(ctx context.Context, action string) (gitcred.Store, error) {
	// stdin was git's pipe and is used up: a passphrase prompt may now go
	// to the controlling terminal, as git's own prompts do, when there is
	// one; without one, an unlock fails with ErrLocked.
	if !a.IO.InIsTTY && a.IO.OpenTerminal != nil {
		if t, err := a.IO.OpenTerminal(); err == nil {
			t.Close()
			a.IO.InIsTTY = true
		}
	}
	b, err := a.Backend(ctx)
	if err != nil {
		return nil, err
	}
	if action == "store" || action == "erase" {
		if err := a.refuseSharedHelperStore(ctx, b, "git-credential-kr"); err != nil {
			return nil, err
		}
	}
	return gitStore(b)
}

// serveHelper answers one action of a credential-helper protocol, its
// request on stdin and its answer on stdout.
func (a *App) serveHelper(ctx context.Context, h credkit.Helper, action string) error {
	return h.Serve(ctx, action, a.IO.In, a.stdout())
}
