package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// STUB: exec, env and allow are being written (issue 6).

var errNotYet = errors.New("not implemented yet")

func newExecCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "exec [flags] -- COMMAND [ARGS...]", Short: "Run a command with secrets in its environment",
		RunE: func(cmd *cobra.Command, args []string) error { return errNotYet }}
}

func newEnvCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "env", Short: "Print resolved variables for a shell",
		RunE: func(cmd *cobra.Command, args []string) error { return errNotYet }}
}

func newAllowCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "allow", Short: "Trust this directory's .kr.env as it is now",
		RunE: func(cmd *cobra.Command, args []string) error { return errNotYet }}
}
