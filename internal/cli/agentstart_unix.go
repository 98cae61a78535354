//go:build !windows

package cli

// This file starts the agent on Unix: its own session, the start lock,
// and no descriptor of ours left open in it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/wait"
	"github.com/kr-keyring/kr/ipc"
)

// detached starts the agent in its own session, away from the terminal's
// signals.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// agentWorkDir is where the agent runs: a directory no unmount waits for.
func agentWorkDir() string { return "/" }

// startLock serialises agent starts, so two clients start one agent. The
// directory is checked before anything is opened in it (under the temp dir
// another user may have made it first); the lock file is never reached
// through a symlink, and the wait for it ends with ctx.
func startLock(ctx context.Context, sock string) (func(), error) {
	dir := filepath.Dir(sock)
	if err := ipc.EnsureDir(dir); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "start.lock")
	lctx, end := wait.Bound(ctx, "another process held the agent's start lock")
	l, err := filelock.Lock(lctx, name)
	if errors.Is(err, filelock.ErrBusy) {
		return nil, end(fmt.Errorf("%w %s: %w", errStartLockBusy, name, lctx.Err()))
	}
	end(nil)
	if err != nil {
		return nil, fmt.Errorf("the start lock: %w", err)
	}
	return l.Unlock, nil
}

// closeOnExecAll marks every inherited descriptor above stderr
// close-on-exec, so that the agent, which outlives this process, does not
// hold on to a terminal or pipe that kr's own parent handed down. The
// returned func puts the flags back, for a program `kr exec` runs later.
func closeOnExecAll() (restore func()) {
	var flipped []int
	for _, dir := range []string{"/proc/self/fd", "/dev/fd"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			fd, err := strconv.Atoi(e.Name())
			if err != nil || fd <= 2 {
				continue
			}
			if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
				syscall.CloseOnExec(fd)
				flipped = append(flipped, fd)
			}
		}
		break
	}
	return func() {
		for _, fd := range flipped {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
		}
	}
}
