package cli

// This file is the agent's own process: `kr agent serve`.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/agent/sshagent"
	"github.com/kr-keyring/kr/ipc"
)

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
	keys, stopSSH := a.serveSSH(ctx, path, locked)
	defer stopSSH()
	srv := agent.NewServer(agent.Options{LockedMemory: locked, SSH: keys})
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
func (a *App) serveSSH(ctx context.Context, path string, locked bool) (keys *sshagent.Service, stop func()) {
	prog := a.Getenv("KR_PINENTRY")
	if prog == "" {
		prog, _ = exec.LookPath("pinentry")
	}
	keys = sshagent.New(sshagent.Options{LockedMemory: locked, Confirm: &sshagent.Pinentry{Program: prog}})
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
