package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/file"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/ipc"
)

// agentDisabled: KR_NO_AGENT=1 keeps kr from using or starting the agent.
func (a *App) agentDisabled() bool { return a.Getenv("KR_NO_AGENT") == "1" }

func (a *App) agentPath() (string, error) { return ipc.DefaultPath(a.Getenv) }

// dialAgent connects to a running agent, its calls bounded by ctx. With
// none running it fails at once, with an error wrapping ipc.ErrNoAgent; a
// busy one is waited for.
func (a *App) dialAgent(ctx context.Context) (*agent.Client, error) {
	path, err := a.agentPath()
	if err != nil {
		return nil, err
	}
	c, err := ipc.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	return agent.NewClient(c).WithContext(ctx), nil
}

// ensureAgent returns a client of the running agent, starting one (once,
// under a lock, like gpg-agent) when none answers.
func (a *App) ensureAgent(ctx context.Context) (*agent.Client, error) {
	if a.agentDisabled() {
		return nil, withHint(errors.New("the agent is disabled (KR_NO_AGENT=1)"),
			"unset KR_NO_AGENT to use the agent; while it is set, every read needs the passphrase")
	}
	c, err := a.dialAgent(ctx)
	if err == nil {
		return c, nil
	}
	path, perr := a.agentPath()
	if perr != nil {
		return nil, perr
	}
	if !errors.Is(err, ipc.ErrNoAgent) {
		// One runs but cannot be reached, or the directory is not ours
		// alone: a second agent would not help.
		return nil, agentDirHint(fmt.Errorf("start the agent: %w", err), path)
	}
	unlock, err := startLock(ctx, path)
	if err != nil {
		return nil, agentDirHint(fmt.Errorf("start the agent: %w", err), path)
	}
	defer unlock()
	if c, err := a.dialAgent(ctx); err == nil {
		return c, nil // another kr started it meanwhile
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "agent", "serve")
	cmd.Env = agentEnv(os.Environ())
	cmd.SysProcAttr = detached()
	restore := closeOnExecAll()
	err = cmd.Start()
	restore()
	if err != nil {
		return nil, fmt.Errorf("start the agent: %w", err)
	}
	go cmd.Wait()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if c, err := a.dialAgent(ctx); err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("start the agent: it did not answer within 3s")
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("start the agent: %w", ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// agentDirHint says where to look when the agent's directory is the
// trouble: someone else's, or its start lock held.
func agentDirHint(err error, sock string) error {
	dir := filepath.Dir(sock)
	switch {
	case errors.Is(err, ipc.ErrUnsafeDir):
		return withHint(err, "%s must be a directory of yours with mode 0700; if another user made it, set XDG_RUNTIME_DIR to a directory of your own", dir)
	case errors.Is(err, errStartLockBusy):
		return withHint(err, "another process holds the start lock in %s; if no kr is starting the agent there, check what has that directory's files open", dir)
	}
	return err
}

// agentEnv is the agent's environment: never a passphrase meant for kr.
func agentEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, c := range envref.Controlled {
			drop = drop || k == c
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// unlockAgent hands the vault's identity file and the passphrase to the
// agent, which unwraps it itself.
func (a *App) unlockAgent(ctx context.Context, v *file.Vault, pass []byte, ttl, idle time.Duration) (*agent.Client, error) {
	id, err := v.ID()
	if err != nil {
		return nil, err
	}
	wrapped, err := v.IdentityFile()
	if err != nil {
		return nil, err
	}
	c, err := a.ensureAgent(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Unlock(id, wrapped, pass, ttl, idle); err != nil {
		c.Close()
		if errors.Is(err, agent.ErrBadPassphrase) {
			return nil, file.ErrBadPassphrase
		}
		return nil, err
	}
	return c, nil
}

// cacheKey names an OS-store value in the agent's cache: the store really
// used (never how it was spelled: auto and secretservice are one store), the
// service and the name. "" means the store is not known yet: no cache.
func (a *App) cacheKey(name string) string {
	store := a.storeName()
	if store == "" || store == backends.File {
		return ""
	}
	return store + "\x00" + a.Service + "\x00" + name
}

// cachedValue asks a running agent for a value cached by
// `kr unlock --cache`; ok is false when there is none (or no agent). It
// dials only while the cache marker says something may be cached: reads
// of an OS store with no agent, or with one that holds only vaults, cost
// one lstat. Whatever the marker says, the value comes from the agent or
// from the store, never from the marker: a marker that is missing or
// wrong costs a read of the store or one dial, never a stale value.
func (a *App) cachedValue(ctx context.Context, name string) (v []byte, ok bool) {
	key := a.cacheKey(name)
	if a.agentDisabled() || key == "" || !a.mayHaveCached() {
		return nil, false
	}
	c, err := a.dialAgent(ctx)
	if err != nil {
		return nil, false
	}
	defer c.Close()
	v, err = c.CacheGet(key)
	return v, err == nil
}

// cacheMarker is the file beside the agent socket, in the directory
// ipc checks is ours alone, whose modification time is when the last value
// `kr unlock --cache` gave the agent expires. "" where there is no such
// directory (Windows' named pipes): there every read asks the agent.
func (a *App) cacheMarker() string {
	if runtime.GOOS == "windows" {
		return ""
	}
	path, err := a.agentPath()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(path), "cached-until")
}

// mayHaveCached reports whether the agent may hold a cached value: the
// marker exists and has not expired.
func (a *App) mayHaveCached() bool {
	m := a.cacheMarker()
	if m == "" {
		return true
	}
	fi, err := os.Lstat(m)
	return err == nil && fi.Mode().IsRegular() && time.Now().Before(fi.ModTime())
}

// markCached moves the cache marker's expiry to until, unless it is later
// already.
func (a *App) markCached(until time.Time) error {
	m := a.cacheMarker()
	if m == "" {
		return nil
	}
	if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().After(until) {
		return nil
	}
	dir := filepath.Dir(m)
	if err := ipc.CheckDir(dir); err != nil {
		return err
	}
	// Dated before it is renamed into place: never a marker of the
	// wrong age. Nothing is synced: the marker means nothing after a
	// reboot, and losing it costs only a read of the store.
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"cached-*")
	if err == nil {
		tmp := f.Name()
		err = f.Close()
		if err == nil {
			err = os.Chtimes(tmp, until, until)
		}
		if err == nil {
			err = os.Rename(tmp, m)
		}
		if err != nil {
			os.Remove(tmp)
		}
	}
	if err != nil {
		return fmt.Errorf("write the agent's cache marker: %w", err)
	}
	return nil
}

// unmarkCached removes the cache marker once the agent has dropped its
// cache (kr lock, kr agent stop, the agent's exit).
func (a *App) unmarkCached() {
	if m := a.cacheMarker(); m != "" {
		os.Remove(m)
	}
}

// dropCached forgets name in a running agent's cache after kr changed it.
// Unlike a read, it does not trust the cache marker: a marker removed by
// hand, or made to look expired by a step of the wall clock (the agent
// also counts monotonic time), would keep the old value in the agent, to
// be served once a later `kr unlock --cache` renewed the marker.
func (a *App) dropCached(ctx context.Context, name string) {
	key := a.cacheKey(name)
	if a.agentDisabled() || key == "" {
		return
	}
	if c, err := a.dialAgent(ctx); err == nil {
		c.CacheDrop(key)
		c.Close()
	}
}

// cacheValues reads names from the OS store and hands them to the agent.
func (a *App) cacheValues(ctx context.Context, names []string, ttl time.Duration) error {
	b, err := a.Backend(ctx)
	if err != nil {
		return err
	}
	if backends.Unwrap(b).Name() == backends.File {
		return usagef("--cache is for OS-store items; the file vault is unlocked as a whole")
	}
	c, err := a.ensureAgent(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, n := range names {
		v, err := b.Get(ctx, n)
		if err != nil {
			return a.getError(ctx, n, err)
		}
		err = c.CachePut(a.cacheKey(n), v, ttl)
		clear(v)
		if err != nil {
			return err
		}
	}
	// Taken after the agent set its expiries, so that the marker outlives
	// them: reads ask the agent for as long as it may hold a value.
	return a.markCached(time.Now().Add(ttl + time.Second))
}

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
				if app.BackendName == backends.File {
					return usagef("--cache is for OS-store items; the file vault is unlocked as a whole")
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
			v, err := app.existingVault()
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
			c, err := app.unlockAgent(ctx, v, pass, ttl, idle)
			if err != nil {
				return passphraseError(err, "unlock")
			}
			c.Close()
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

// serveAgent runs the agent until it is stopped or signalled; either way
// its keys are wiped first.
func (a *App) serveAgent(ctx context.Context) error {
	locked, warning := agent.Harden()
	if warning != "" {
		fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: %s\n", warning)
	}
	path, err := a.agentPath()
	if err != nil {
		return err
	}
	l, err := ipc.Listen(path)
	if err != nil {
		return err
	}
	srv := agent.NewServer(agent.Options{LockedMemory: locked})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	// Named signals only: catching everything would include SIGURG, which
	// the Go runtime uses for preemption.
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	err = srv.Serve(ctx, l)
	srv.Wipe()
	a.unmarkCached()
	return err
}

// agentChecks reports the agent in `kr doctor`.
func (a *App) agentChecks(ctx context.Context) []check {
	path, err := a.agentPath()
	if err != nil {
		return []check{{"agent", "warn", err.Error()}}
	}
	if a.agentDisabled() {
		return []check{{"agent", "info", "disabled (KR_NO_AGENT=1)"}}
	}
	c, err := a.dialAgent(ctx)
	if err != nil {
		return []check{{"agent", "info", fmt.Sprintf("not running (%s; started by 'kr unlock' or a read at the terminal)", path)}}
	}
	defer c.Close()
	st, err := c.Status()
	if err != nil {
		return []check{{"agent", "fail", err.Error()}}
	}
	detail := fmt.Sprintf("running, pid %d, %s", st.PID, path)
	for _, v := range st.Vaults {
		detail += fmt.Sprintf("; %s unlocked until %s", v.ID, v.ExpiresAt)
	}
	return []check{{"agent", "ok", detail}}
}

// errStartLockBusy: another process held the agent's start lock for as
// long as the command could wait.
var errStartLockBusy = errors.New("wait for the agent start lock")
