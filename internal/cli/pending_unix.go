//go:build unix

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeHasData polls f without waiting and, when it is readable, reads one
// byte, which does not block then: a byte means data, none means the
// writer closed it empty.
func pipeHasData(f *os.File) bool {
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	if err != nil || n == 0 || fds[0].Revents&(unix.POLLIN|unix.POLLHUP) == 0 {
		return false
	}
	var b [1]byte
	k, _ := unix.Read(int(f.Fd()), b[:])
	return k > 0
}
