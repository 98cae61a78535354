//go:build windows

package cli

// This file starts the agent on Windows: no console, the start lock.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/kr-keyring/kr/internal/filelock"
	"github.com/kr-keyring/kr/internal/wait"
)

// detached starts the agent without a console of its own.
func detached() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP | windows.DETACHED_PROCESS}
}

// agentWorkDir is where the agent runs: the Windows directory, on the
// system drive, which is never ejected or unmapped ("\\" alone would be the
// root of whatever drive the starting command was on).
func agentWorkDir() string {
	if d := os.Getenv("SystemRoot"); d != "" {
		return d
	}
	return os.TempDir()
}

// startLock serialises agent starts through a lock file in the user's
// local app data; the wait for it ends with ctx.
func startLock(ctx context.Context, _ string) (func(), error) {
	base := os.Getenv("LOCALAPPDATA")
	if base == "" {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "kr")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "agent-start.lock")
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

// closeOnExecAll: Windows passes only the handles a child is given.
func closeOnExecAll() (restore func()) { return func() {} }
