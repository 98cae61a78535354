//go:build windows

package execenv

import (
	"errors"
	"os"
	"os/signal"
)

// Exec is not available on Windows: kr runs the program as a child.
func Exec(path string, args, env []string) error {
	return errors.New("exec in place is not supported on Windows")
}

// CanExec reports whether Exec is available here.
const CanExec = false

type signalForwarder struct {
	c    chan os.Signal
	done chan struct{}
}

// catchSignals: the console delivers Ctrl-C and Ctrl-Break to every process
// attached to it, the child included; kr only has to survive them so it can
// pass the child's exit code on.
func catchSignals() *signalForwarder {
	f := &signalForwarder{c: make(chan os.Signal, 8), done: make(chan struct{})}
	signal.Notify(f.c, os.Interrupt)
	go func() {
		for {
			select {
			case <-f.c:
			case <-f.done:
				return
			}
		}
	}()
	return f
}

func (f *signalForwarder) forwardTo(p *os.Process) {}

func (f *signalForwarder) stop() { signal.Stop(f.c); close(f.done) }

func statusOf(ps *os.ProcessState) Status { return Status{Code: ps.ExitCode()} }

// Reraise has no equivalent on Windows.
func Reraise(s os.Signal) {}
