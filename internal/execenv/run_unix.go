//go:build !windows

package execenv

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Exec replaces kr with the program: same pid, its signals and exit status
// its own. It returns only on failure.
func Exec(path string, args, env []string) error {
	return syscall.Exec(path, args, env)
}

// CanExec reports whether Exec is available here.
const CanExec = true

var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// forwardSignals passes kr's termination signals on to the child, so that
// kr itself outlives it and can report its status.
func forwardSignals(cmd *exec.Cmd) (stop func()) {
	c := make(chan os.Signal, 8)
	signal.Notify(c, forwarded...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-c:
				if cmd.Process != nil {
					cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(c); close(done) }
}

func statusOf(ps *os.ProcessState) Status {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Status{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return Status{Code: ps.ExitCode()}
}

// Reraise ends kr with the signal that killed the child, so that the shell
// sees the same status ($? = 128+n); it returns only if that fails.
func Reraise(s os.Signal) {
	sig, ok := s.(syscall.Signal)
	if !ok {
		return
	}
	signal.Reset(sig)
	if sig == syscall.SIGQUIT {
		// No core file of kr for the child's SIGQUIT.
		syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	}
	syscall.Kill(os.Getpid(), sig)
}
