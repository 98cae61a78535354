//go:build windows

package execenv

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
)

// Exec is not available on Windows: kr runs the program as a child.
func Exec(path string, args, env []string) error {
	return errors.New("exec in place is not supported on Windows")
}

// CanExec reports whether Exec is available here.
const CanExec = false

// forwardSignals: the console delivers Ctrl-C and Ctrl-Break to the whole
// process group, the child included; kr only has to survive them so it can
// pass the child's exit code on.
func forwardSignals(cmd *exec.Cmd) (stop func()) {
	c := make(chan os.Signal, 8)
	signal.Notify(c, os.Interrupt)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-c:
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(c); close(done) }
}

func statusOf(ps *os.ProcessState) Status { return Status{Code: ps.ExitCode()} }

// Reraise has no equivalent on Windows.
func Reraise(s os.Signal) {}
