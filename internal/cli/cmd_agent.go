package cli

import (
	"errors"

	"context"

	"github.com/spf13/cobra"
)

// STUB: unlock, lock and agent are being written (issue 4).

func newUnlockCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "unlock", Short: "Unlock the vault in the agent for a while",
		RunE: func(cmd *cobra.Command, args []string) error { return errNotYet }}
}

func newLockCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "lock", Short: "Make the agent forget unlocked keys",
		RunE: func(cmd *cobra.Command, args []string) error { return errNotYet }}
}

func newAgentCmd(app *App) *cobra.Command {
	return &cobra.Command{Use: "agent", Short: "Start, stop or inspect the agent"}
}

// agentChecks reports the agent in `kr doctor`.
func (a *App) agentChecks(ctx context.Context) []check { return nil }

var errNotYet = errors.New("not implemented yet")
