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

// secureAlloc returns n bytes on pages of their own, outside the Go heap,
// locked (no swap) when lock is set and left out of core dumps where the
// OS allows: buffers that share a page with nothing else, so unlocking one
// never unlocks another's page. free wipes and unmaps them.
func secureAlloc(n int, lock bool) (b []byte, free func()) {
	if n == 0 {
		return []byte{}, func() {}
	}
	page := unix.Getpagesize()
	m, err := unix.Mmap(-1, 0, (n+page-1)/page*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		b = make([]byte, n)
		return b, func() { clear(b) }
	}
	if lock {
		unix.Mlock(m) // refused only past RLIMIT_MEMLOCK, which Harden probed
	}
	excludeFromDump(m)
	return m[:n:n], func() {
		clear(m)
		unix.Munmap(m) // unlocks as well
	}
}
