//go:build !windows

package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// detached starts the agent in its own session, away from the terminal's
// signals.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// startLock serialises agent starts, so two clients start one agent.
func startLock(sock string) (func(), error) {
	dir := filepath.Dir(sock)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "start.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
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
