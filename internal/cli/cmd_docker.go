package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/dockercred"
)

const dockerHelperName = "docker-credential-kr"

// newDockerCredentialCmd is docker's credential helper, what kr runs when
// invoked as docker-credential-kr (see helperNames). It follows the helper
// protocol rather than kr's output policy: the client reads failures from
// stdout, where docker's own helpers print them, and exit status 1 and up
// only says "failed".
func newDockerCredentialCmd(app *App) *cobra.Command {
	var version bool
	cmd := &cobra.Command{
		Use:   "docker-credential store|get|erase|list|version",
		Short: "docker's credential helper protocol (run as docker-credential-kr)",
		Long: `Speak docker's credential helper protocol: docker runs docker-credential-kr
with the action as its argument, the request on stdin. Configure it with
'kr setup docker'. Logins are kept as docker's own helper for the store keeps
them (see the README), so either helper reads the other's.`,
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if version {
				return dockerVersion(app)
			}
			if len(args) == 0 {
				fmt.Fprintf(app.IO.Out, "Usage: %s <store|get|erase|list|version>\n", dockerHelperName)
				return &ExitCodeError{Code: exitError}
			}
			fmt.Fprintf(app.IO.Out, "%s: unknown action: %s\n", dockerHelperName, oneLine(args[0]))
			return &ExitCodeError{Code: exitError}
		},
	}
	cmd.Flags().BoolVarP(&version, "version", "v", false, "print the helper's version")
	for _, action := range []string{dockercred.ActionStore, dockercred.ActionGet, dockercred.ActionErase, dockercred.ActionList} {
		cmd.AddCommand(&cobra.Command{
			Use:    action,
			Short:  "docker's " + action + " action",
			Hidden: true,
			Args:   cobra.ArbitraryArgs, // docker's helpers ignore extra arguments
			RunE: func(cmd *cobra.Command, args []string) error {
				return app.dockerServe(cmd.Context(), action)
			},
		})
	}
	cmd.AddCommand(&cobra.Command{
		Use:    "version",
		Short:  "print the helper's version",
		Hidden: true,
		Args:   cobra.ArbitraryArgs,
		RunE:   func(cmd *cobra.Command, args []string) error { return dockerVersion(app) },
	})
	return cmd
}

func dockerVersion(app *App) error {
	_, err := fmt.Fprintf(app.stdout(), "%s (github.com/kr-keyring/kr) %s\n", dockerHelperName, versionString())
	return err
}

// dockerServe runs one action. A failure's message goes to stdout, one
// line, for docker to read ("credentials not found in native keychain" is
// how a missing login is told); its next step, if any, to stderr, which
// docker shows as it is.
func (a *App) dockerServe(parent context.Context, action string) error {
	a.requester = "docker" // a prompt names the program it serves
	ctx, cancel := a.context(parent)
	defer cancel()
	err := a.serveHelper(ctx, dockercred.Server{Open: a.dockerLayout, Stored: a.recordChoice}, action)
	if err == nil {
		return nil
	}
	fmt.Fprintln(a.IO.Out, oneLine(err.Error()))
	if !errors.Is(err, backends.ErrNotFound) && !errors.Is(err, dockercred.ErrBadRequest) {
		hint := defaultHint(err)
		var he hinter
		if errors.As(err, &he) {
			hint = he.Hint()
		}
		if hint != "" {
			fmt.Fprintf(a.IO.ErrOut, "kr: hint: %s\n", oneLine(hint))
		}
	}
	return &ExitCodeError{Code: exitCode(err)}
}

// dockerLayout opens the store kr uses for the service and the layout of
// docker's own helper for it, as the registry's entry for the store says:
// the Secret Service's io.docker.Credentials items, Credential Manager's
// and the Keychain's as docker-credential-wincred and -osxkeychain write
// them; the file vault under dockercred.NamePrefix. store and erase never
// write into a vault that others read.
func (a *App) dockerLayout(ctx context.Context, action string) (dockercred.Store, error) {
	b, err := a.Backend(ctx)
	if err != nil {
		return nil, err
	}
	if action == dockercred.ActionStore || action == dockercred.ActionErase {
		if err := a.refuseSharedHelperStore(ctx, b, dockerHelperName); err != nil {
			return nil, err
		}
	}
	return dockerLayout(b)
}
