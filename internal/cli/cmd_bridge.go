package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/internal/credkit"
	"github.com/kr-keyring/kr/internal/wslbridge"
)

// newBridgeCmd is the Windows side of the WSL bridge: kr inside WSL runs
// `kr.exe bridge serve` and speaks to it over stdin and stdout (package
// wslbridge). People do not run it.
func newBridgeCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "bridge serve",
		Short:  "Serve Credential Manager to kr inside WSL (run by kr)",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:    "serve",
		Short:  "Answer bridge requests on stdin until it ends",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := &wslbridge.Server{
				Open: func(ctx context.Context, service string) (backends.Backend, error) {
					return dpapi.Open(ctx, dpapi.Options{Service: service})
				},
				Creds: credkit.SystemCredentialManager(),
			}
			return s.Serve(cmd.Context(), app.IO.In, app.IO.Out)
		},
	})
	return cmd
}
