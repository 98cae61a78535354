package cli

// This file wires the agent commands: unlock, lock and agent start, stop,
// status and serve.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/agent/lockwatch"
	"github.com/kr-keyring/kr/agent/readlog"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
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
decrypts for later kr commands, which then need no passphrase. A device binding
of the identity ('kr identity bind') is tried first; then the passphrase comes
from KR_PASSPHRASE_FILE, KR_PASSPHRASE or the terminal.`,
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
				fmt.Fprintf(app.IO.ErrOut, "kr: %s cached in the agent until %s\n", plural(len(cache), "value"), clock(time.Now().Add(ttl)))
				return nil
			}
			if err := app.unlockNeedsVault(); err != nil {
				return err
			}
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			id, err := v.ID()
			if err != nil {
				return err
			}
			shared, err := v.Shared()
			if err != nil {
				return err
			}
			// The command's timeout runs for the device and the agent, not
			// while a person types.
			bctx, bcancel := app.context(cmd.Context())
			defer bcancel()
			c, how, err := app.unlockViaBinding(bctx, v, id, ttl, idle)
			if err != nil {
				return fmt.Errorf("unlock: %w", err)
			}
			if c != nil {
				app.loadSSHKeysInto(bctx, c, ttl)
				c.Close()
				// What a device binding opened is not proof that the
				// vault's key is the user's own, as the passphrase is:
				// nothing is accepted here.
				fmt.Fprintf(app.IO.ErrOut, "kr: vault %s unlocked in the agent by its %s binding until %s\n", v.Dir(), how, clock(time.Now().Add(ttl)))
				return nil
			}
			pass, err := app.passphrase(cmd.Context(), app.unlockPrompt(v.Dir(), id, shared, "", "unlock %s in the agent for "+ttl.String()))
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
			wrapped, err := v.IdentityFile()
			if err != nil {
				return err
			}
			c, err = app.unlockAgent(ctx, id, wrapped, pass, ttl, idle)
			if err != nil {
				return passphraseError(err, "unlock")
			}
			app.loadSSHKeysInto(ctx, c, ttl)
			c.Close()
			// The passphrase opened the vault's identity.age: its key is
			// the user's own, accepted from now on (a single-user vault).
			if _, err := v.AcceptUnlocked(ctx); err != nil {
				return fmt.Errorf("unlock: %w", err)
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: vault %s unlocked in the agent until %s\n", v.Dir(), clock(time.Now().Add(ttl)))
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
				// An older kr's agent cannot be asked to lock: stopping it
				// forgets its keys as well.
				_, err = app.staleAgent(ctx, err)
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
			var ve *agent.VersionError
			if errors.As(err, &ve) {
				return withHint(fmt.Errorf("the agent at %s speaks protocol version %d, this kr %d", path, ve.Got, ve.Want),
					"run kr agent stop; the next command that needs the agent starts this kr's")
			}
			if err != nil {
				return err
			}
			if asJSON {
				open, locked := []agent.VaultStatus{}, []agent.VaultStatus{}
				for _, v := range st.Vaults {
					if v.Locked != "" {
						locked = append(locked, v)
					} else {
						open = append(open, v)
					}
				}
				return writeJSON(app.IO.Out, map[string]any{"running": true, "socket": path, "pid": st.PID, "vaults": open, "locked": locked, "cached": len(st.Cached), "guard": st.Guard})
			}
			fmt.Fprintf(app.IO.Out, "agent: running, pid %d (%s)\n", st.PID, path)
			printGuard(app.IO.Out, st.Guard)
			for _, v := range st.Vaults {
				switch v.Locked {
				case "":
					fmt.Fprintf(app.IO.Out, "unlocked: %s until %s\n", v.ID, clockOf(v.ExpiresAt))
				case "expired":
					fmt.Fprintf(app.IO.Out, "locked: %s (expired at %s)\n", v.ID, clockOf(v.LockedAt))
				default:
					fmt.Fprintf(app.IO.Out, "locked: %s (%s at %s)\n", v.ID, v.Locked, clockOf(v.LockedAt))
				}
			}
			for _, k := range st.Cached {
				fmt.Fprintf(app.IO.Out, "cached: %s\n", strings.ReplaceAll(k, "\x00", " "))
			}
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	var confirm bool
	var lockOn string
	start := &cobra.Command{
		Use:   "start",
		Short: "Start the agent if it is not running",
		Long: `Start the agent if it is not running. It locks (forgets every key, cached value
and approval) when the screen locks, before the machine sleeps and when the
session is switched away from, wherever the desktop announces it (--lock-on
chooses: screen, session, sleep, or none). With --confirm, a program's first
read after each unlock is asked about in a pinentry dialog the agent shows:
allow it until the next lock, allow once, or deny (exit 4). Without flags,
agent.json in kr's configuration directory decides ("confirm", "lock_on").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			flagged := cmd.Flags().Changed("confirm") || cmd.Flags().Changed("lock-on")
			if cmd.Flags().Changed("lock-on") {
				events, err := lockwatch.Parse(lockOn)
				if err != nil {
					return usagef("--lock-on: %v", err)
				}
				app.agentServeArgs = append(app.agentServeArgs, "--lock-on", lockOnText(events))
			}
			if cmd.Flags().Changed("confirm") {
				app.agentServeArgs = append(app.agentServeArgs, fmt.Sprintf("--confirm=%t", confirm))
			}
			if flagged {
				if c, err := app.dialAgent(ctx); err == nil {
					c.Close()
					return withHint(errors.New("an agent is already running, with the settings it was started with"),
						"run kr agent stop, then kr agent start with these flags")
				}
			}
			c, err := app.ensureAgent(ctx)
			if err != nil {
				return err
			}
			return c.Close()
		},
	}
	start.Flags().BoolVar(&confirm, "confirm", false, "ask before each program's first read after an unlock")
	start.Flags().StringVar(&lockOn, "lock-on", lockOnText(lockwatch.All), "lock on these events: screen, session, sleep (comma-separated), or none")
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
			err = c.Stop()
			var ve *agent.VersionError
			if errors.As(err, &ve) {
				// An agent another kr started: stopped in its own version.
				return app.stopAgentVersion(ctx, ve.Got)
			}
			if err != nil {
				return err
			}
			app.unmarkCached()
			return nil
		},
	}
	var serveOpts agentServeOptions
	var serveLockOn string
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the agent in the foreground (kr starts it itself when needed)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			serveOpts.confirmSet = cmd.Flags().Changed("confirm")
			if cmd.Flags().Changed("lock-on") {
				events, err := lockwatch.Parse(serveLockOn)
				if err != nil {
					return usagef("--lock-on: %v", err)
				}
				serveOpts.lockOn = events
			}
			return app.serveAgent(cmd.Context(), serveOpts)
		},
	}
	serve.Flags().BoolVar(&serveOpts.confirm, "confirm", false, "ask before each program's first read after an unlock")
	serve.Flags().StringVar(&serveLockOn, "lock-on", "", "lock on these events (screen, session, sleep), or none")
	cmd.AddCommand(status, start, stop, serve, newAgentLogCmd(app), newAgentAllowCmd(app))
	return cmd
}

// unlockNeedsVault explains kr unlock where the store in use is an OS
// store and no file vault is named or mounted: "no vault" would send the
// user to create one, when what they likely want is --cache.
func (a *App) unlockNeedsVault() error {
	if a.vaultNamed != "" {
		return nil
	}
	name := a.storeName()
	if name == "" || name == backends.File {
		return nil
	}
	if rec, err := a.storeRecord(); err == nil {
		for _, t := range rec.Mounts(a.Service) {
			if t.Kind == config.MountFile {
				return nil
			}
		}
	}
	label := name
	native, fallback := a.stores()
	if c, ok := backends.Lookup(name, native, fallback); ok {
		label = c.Label
	}
	return withHint(usagef("kr unlock opens a file vault, and the store in use is %s, which unlocks with your login or its own prompt", label),
		"'kr unlock --cache NAME...' keeps its values in the agent for --ttl; for a file vault, name it with --vault DIR or mount it with 'kr mount'")
}

// printGuard says what guards the agent's keys: what it locks on, the
// last lock and why, and whether reads are asked about.
func printGuard(w io.Writer, g *agent.GuardStatus) {
	if g == nil {
		return
	}
	if len(g.LockOn) > 0 {
		fmt.Fprintf(w, "locks on: %s\n", strings.Join(g.LockOn, ", "))
	}
	for _, m := range g.NoLockOn {
		fmt.Fprintf(w, "not watched: %s\n", m)
	}
	if len(g.LockOn) == 0 && len(g.NoLockOn) == 0 {
		fmt.Fprintln(w, "locks on: nothing (kr lock, or the ttl)")
	}
	if g.LockedAt != "" {
		at := g.LockedAt
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			at = t.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "locked: at %s (%s)\n", at, g.LockReason)
	}
	if g.Ignored > 0 {
		fmt.Fprintf(w, "ignored: %s not from the owner of the name they speak for\n", plural(g.Ignored, "lock announcement"))
	}
	if g.Confirm {
		fmt.Fprintln(w, "confirm: on (a program's first read after an unlock is asked about)")
		for _, p := range g.Allowed {
			fmt.Fprintf(w, "allowed until lock: %s\n", p)
		}
	}
}

func newAgentLogCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Show the agent's read log: what was read, by which program, and the decision",
		Long: `Show the agent's read log, oldest first: every read through the agent (a file
vault's secret, a cached OS-store value, an SSH signature) with its time, the
secret's name, the program the kernel named and its pid, and what the agent
decided. Values are never logged. The log lives in kr's configuration directory
(agent-reads.log, this user's alone) and keeps about the last 2 MiB.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := app.readLogPath()
			if err != nil {
				return err
			}
			reads, err := readlog.Read(path)
			if err != nil {
				return err
			}
			if asJSON {
				if reads == nil {
					reads = []agent.Read{}
				}
				return writeJSON(app.IO.Out, reads)
			}
			for _, r := range reads {
				at := r.Time
				if t, err := time.Parse(time.RFC3339Nano, r.Time); err == nil {
					at = t.Local().Format("2006-01-02 15:04:05")
				}
				prog := r.Program
				if r.RunBy != "" {
					prog += " (run by kr exec from " + r.RunBy + ")"
				}
				fmt.Fprintf(app.IO.Out, "%s  %s  %s [%d]  %s\n", at, r.Name, prog, r.PID, r.Decision)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newAgentAllowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "allow PROGRAM [PREFIX]",
		Short: "Let a program read without being asked (with kr agent start --confirm)",
		Long: `Record that PROGRAM (a path, or a name on PATH; symlinks are resolved, as the
kernel names a running program) may read every secret, or those named PREFIX or
under PREFIX/, without the agent asking. Rules live in agent.json and apply at
once. Any process of yours can still ptrace or preload an allowed program: a
rule trusts the program, not everything that runs as you.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			prog, err := exec.LookPath(args[0])
			if err == nil {
				prog, err = filepath.Abs(prog)
			}
			if err == nil {
				prog, err = filepath.EvalSymlinks(prog)
			}
			if err != nil {
				return withHint(fmt.Errorf("program %s: %w", args[0], err), "name an executable by its path, or a name on PATH")
			}
			r := agent.Rule{Program: prog}
			if len(args) == 2 {
				r.Prefix = strings.TrimSuffix(args[1], "/")
				if err := backends.ValidateName(r.Prefix); err != nil {
					return usagef("PREFIX: %v", err)
				}
			}
			added, err := app.addAgentRule(r)
			if err != nil {
				return err
			}
			what := "every secret"
			if r.Prefix != "" {
				what = r.Prefix + " and the secrets under it"
			}
			if !added {
				fmt.Fprintf(app.IO.ErrOut, "kr: %s may already read %s\n", prog, what)
				return nil
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: %s may read %s without being asked\n", prog, what)
			return nil
		},
	}
}

// loadSSHKeysInto gives the agent the SSH keys kept in kr, with the vault
// key's ttl; one that fails is named, the unlock stands.
func (a *App) loadSSHKeysInto(ctx context.Context, c *agent.Client, ttl time.Duration) {
	if n, err := a.loadSSHKeys(ctx, c, ttl); err != nil {
		fmt.Fprintf(a.IO.ErrOut, "kr: warning: SSH keys not loaded: %v\n", err)
	} else if n > 0 {
		fmt.Fprintf(a.IO.ErrOut, "kr: %d SSH key(s) loaded\n", n)
	}
}
