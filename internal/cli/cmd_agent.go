package cli

// This file wires the agent commands: unlock, lock and agent start, stop,
// status and serve.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/ipc"
)

func newUnlockCmd(app *App) *cobra.Command {
	var ttl, idle time.Duration
	var cache []string
	cmd := &cobra.Command{
		Use:   "unlock",
		Short: "Unlock the file vault in the agent for a while",
		Long: `Hand the vault's identity to the agent (started if needed), which keeps it,
sealed in memory, for --ttl (default 15m, at most 24h; time in suspend counts) and
decrypts for later kr commands, which then need no passphrase. The passphrase
comes from KR_PASSPHRASE_FILE, KR_PASSPHRASE or the terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl <= 0 || ttl > agent.MaxTTL {
				return usagef("--ttl must be between 1s and %v", agent.MaxTTL)
			}
			if idle < 0 || idle > ttl {
				return usagef("--idle must be between 0 and the ttl")
			}
			if len(cache) > 0 {
				if e, ok := lookupStore(app.BackendName); ok && e.Role != osStore {
					return usagef("--cache is for OS-store items; %s is unlocked as a whole", e.Label)
				}
				for _, n := range cache {
					if err := backends.ValidateName(n); err != nil {
						return err
					}
				}
				ctx, cancel := app.context(cmd.Context())
				defer cancel()
				if err := app.cacheValues(ctx, cache, ttl); err != nil {
					return err
				}
				fmt.Fprintf(app.IO.ErrOut, "kr: %d value(s) cached in the agent until %s\n", len(cache), time.Now().Add(ttl).Format("15:04:05"))
				return nil
			}
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			pass, err := app.passphrase(cmd.Context(), "Vault passphrase: ")
			if errors.Is(err, backends.ErrLocked) {
				// The generic hint would say to run kr unlock: this is it.
				return withHint(err, "run kr unlock at a terminal, or give it the passphrase in a file named by KR_PASSPHRASE_FILE")
			}
			if err != nil {
				return err
			}
			defer clear(pass)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			id, err := v.ID()
			if err != nil {
				return err
			}
			wrapped, err := v.IdentityFile()
			if err != nil {
				return err
			}
			c, err := app.unlockAgent(ctx, id, wrapped, pass, ttl, idle)
			if err != nil {
				return passphraseError(err, "unlock")
			}
			c.Close()
			// The passphrase opened the vault's identity.age: its key is
			// the user's own, accepted from now on (a single-user vault).
			if _, err := v.AcceptUnlocked(ctx); err != nil {
				return fmt.Errorf("unlock: %w", err)
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: vault %s unlocked in the agent until %s\n", v.Dir(), time.Now().Add(ttl).Format("15:04:05"))
			return nil
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", agent.DefaultTTL, "how long the agent keeps the key (absolute)")
	cmd.Flags().DurationVar(&idle, "idle", 0, "forget the key after this long unused (0: never)")
	cmd.Flags().StringSliceVar(&cache, "cache", nil, "instead, cache these OS-store items' values in the agent for --ttl")
	registerCompletion(cmd, "cache", app.completeCached)
	return cmd
}

func newLockCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "lock",
		Short: "Make the agent forget every unlocked key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			c, err := app.dialAgent(ctx)
			if errors.Is(err, ipc.ErrNoAgent) {
				app.unmarkCached() // left by an agent that crashed
				fmt.Fprintln(app.IO.ErrOut, "kr: no agent is running; nothing to lock")
				return nil
			}
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Lock(); err != nil {
				return err
			}
			app.unmarkCached()
			return nil
		},
	}
}

func newAgentCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Start, stop or inspect the agent",
	}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Say whether the agent runs and what it holds unlocked",
		Long: `Say whether the agent runs, and what it holds: unlocked vaults until when, and
cached OS-store items. The exit status is 0 when it runs, 3 when it does not (as
systemctl status), 1 when it cannot be asked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, _ := app.agentPath()
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			c, err := app.dialAgent(ctx)
			if errors.Is(err, ipc.ErrNoAgent) {
				// Like systemctl status: 3 when it does not run, so that
				// scripts can tell without parsing.
				if asJSON {
					err = writeJSON(app.IO.Out, map[string]any{"running": false, "socket": path})
				} else {
					_, err = fmt.Fprintf(app.IO.Out, "agent: not running (%s)\n", path)
				}
				if err != nil {
					return err
				}
				return &ExitCodeError{Code: exitNotFound}
			}
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Status()
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(app.IO.Out, map[string]any{"running": true, "socket": path, "pid": st.PID, "vaults": st.Vaults, "cached": len(st.Cached)})
			}
			fmt.Fprintf(app.IO.Out, "agent: running, pid %d (%s)\n", st.PID, path)
			for _, v := range st.Vaults {
				fmt.Fprintf(app.IO.Out, "unlocked: %s until %s\n", v.ID, v.ExpiresAt)
			}
			for _, k := range st.Cached {
				fmt.Fprintf(app.IO.Out, "cached: %s\n", strings.ReplaceAll(k, "\x00", " "))
			}
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the agent if it is not running",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			c, err := app.ensureAgent(ctx)
			if err != nil {
				return err
			}
			return c.Close()
		},
	}
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Wipe the agent's keys and stop it",
		Long: `Wipe the agent's keys and stop it. It returns once the agent has stopped:
its socket is gone and it has finished serving.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			c, err := app.dialAgent(ctx)
			if errors.Is(err, ipc.ErrNoAgent) {
				app.unmarkCached() // left by an agent that crashed
				fmt.Fprintln(app.IO.ErrOut, "kr: no agent is running")
				return nil
			}
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.Stop(); err != nil {
				return err
			}
			app.unmarkCached()
			return nil
		},
	}
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the agent in the foreground (kr starts it itself when needed)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE:   func(cmd *cobra.Command, args []string) error { return app.serveAgent(cmd.Context()) },
	}
	cmd.AddCommand(status, start, stop, serve)
	return cmd
}
