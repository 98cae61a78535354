//go:build !windows

package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// canLockMemory probes mlock, which keeps keys out of swap.
func canLockMemory() error {
	page := make([]byte, unix.Getpagesize())
	if err := unix.Mlock(page); err != nil {
		return err
	}
	return unix.Munlock(page)
}

// Harden makes the agent's memory hard to reach: no core files, not
// dumpable (so no ptrace attach and /proc/PID/mem closed to the user's
// other processes), no debugger on macOS. It reports whether memory can be
// locked; if not, the warning says why.
func Harden() (lockedMemory bool, warning string) {
	unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	denyInspection()
	if err := canLockMemory(); err != nil {
		return false, fmt.Sprintf("cannot lock memory (%v); keys stay in ordinary memory, which may be swapped (raise RLIMIT_MEMLOCK)", err)
	}
	return true, ""
}

func lockMemory(b []byte)   { unix.Mlock(b) }
func unlockMemory(b []byte) { unix.Munlock(b) }
