package cli

// This file is the agent's own process: `kr agent serve`.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/agent/lockwatch"
	"github.com/kr-keyring/kr/agent/readlog"
	"github.com/kr-keyring/kr/agent/sshagent"
	"github.com/kr-keyring/kr/ipc"
)

// agentServeOptions are `kr agent serve`'s flags; unset ones come from
// agent.json.
type agentServeOptions struct {
	confirm    bool
	confirmSet bool
	lockOn     []string // nil: from agent.json, else every event
}

// serveAgent runs the agent until it is stopped or signalled; either way
// its keys are wiped first.
func (a *App) serveAgent(ctx context.Context, so agentServeOptions) error {
	settings, err := a.agentSettings()
	var damaged *damagedSettingsError
	if errors.As(err, &damaged) {
		return withHint(err, "fix or remove it; kr agent start --confirm and --lock-on set the same for one agent")
	}
	if err != nil {
		// Unreadable (a configuration directory of another user's, say):
		// the agent still serves, with the defaults, and says so.
		fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: %v; using the defaults\n", err)
		settings = &agentSettings{V: 1}
	}
	if !so.confirmSet {
		so.confirm = settings.Confirm
	}
	if so.lockOn == nil {
		so.lockOn = lockwatch.All
		if settings.LockOn != "" {
			so.lockOn, _ = lockwatch.Parse(settings.LockOn) // checked when read
		}
	}
	locked, warning := agent.Harden()
	if warning != "" {
		fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: %s\n", warning)
	}
	path, err := a.agentPath()
	if err != nil {
		return err
	}
	// The agent outlives the command that started it and must not keep its
	// working directory busy (a mounted directory could not be unmounted
	// until the agent exits). The socket path is absolute.
	if err := os.Chdir(agentWorkDir()); err != nil {
		return fmt.Errorf("agent: leave the working directory: %w", err)
	}
	l, err := ipc.Listen(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := agent.Options{LockedMemory: locked, Rules: a.agentRules}
	logPath, err := a.readLogPath()
	if err == nil {
		err = os.MkdirAll(filepath.Dir(logPath), 0o700)
	}
	if err != nil {
		fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: no read log: %v\n", err)
	} else {
		reads := &readlog.Log{Path: logPath}
		var warned atomic.Bool
		opts.Log = func(r agent.Read) {
			if err := reads.Append(r); err != nil && !warned.Swap(true) {
				fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: read log: %v\n", err)
			}
		}
	}
	if so.confirm {
		opts.Approver = approver{a}
	}
	// The SSH service asks the server's guard, which exists only once
	// the server does.
	var guard atomic.Pointer[agent.Server]
	keys, stopSSH := a.serveSSH(ctx, path, locked, func(peer net.Conn, key string) error {
		if s := guard.Load(); s != nil {
			return s.GuardRead(peer, key)
		}
		return errors.New("the agent is starting")
	})
	defer stopSSH()
	opts.SSH = keys
	srv := agent.NewServer(opts)
	guard.Store(srv)
	// The buses are asked while the agent already serves: each call is
	// bounded, but a bus that does not answer must not delay kr.
	srv.SetLockOn(nil, []string{"connecting to the desktop's buses"})
	go func() {
		watching, missing := lockwatch.Watch(ctx, lockwatch.Options{
			On: so.lockOn, Getenv: a.Getenv, Lock: srv.LockFor,
			Ignored: func(string) { srv.NoteIgnored() },
		})
		srv.SetLockOn(watching, missing)
	}()
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

// serveSSH starts the SSH key service on its own socket beside path. A
// socket it cannot take is a warning: the agent still serves kr.
// stop closes its socket and returns once it is closed.
func (a *App) serveSSH(ctx context.Context, path string, locked bool, guard func(net.Conn, string) error) (keys *sshagent.Service, stop func()) {
	prog := a.Getenv("KR_PINENTRY")
	if prog == "" {
		prog, _ = exec.LookPath("pinentry")
	}
	keys = sshagent.New(sshagent.Options{LockedMemory: locked, Confirm: &sshagent.Pinentry{Program: prog}, Guard: guard})
	l, addr, err := sshagent.Listen(path, a.Getenv)
	if err != nil {
		fmt.Fprintf(a.IO.ErrOut, "kr agent: warning: no SSH agent socket: %v\n", err)
		return keys, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		keys.Serve(ctx, l, addr)
	}()
	return keys, func() { cancel(); <-done }
}
