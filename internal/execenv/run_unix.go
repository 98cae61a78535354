//go:build !windows

package execenv

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Exec replaces kr with the program: same pid, its signals and exit status
// its own. It returns only on failure.
func Exec(path string, args, env []string) error {
	return syscall.Exec(path, args, env)
}

// CanExec reports whether Exec is available here.
const CanExec = true

var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

type signalForwarder struct {
	c    chan os.Signal
	done chan struct{}
}

func catchSignals() *signalForwarder {
	f := &signalForwarder{c: make(chan os.Signal, 8), done: make(chan struct{})}
	signal.Notify(f.c, forwarded...)
	return f
}

// forwardTo passes kr's termination signals on to the child, so that kr
// outlives it and can report its status. Ctrl-C and Ctrl-\ on a terminal
// already reach the child, which shares kr's foreground process group:
// sending them again would make a program that takes a second interrupt
// as "stop now" (terraform, docker compose) skip its clean shutdown.
func (f *signalForwarder) forwardTo(p *os.Process) {
	go func() {
		for {
			select {
			case s := <-f.c:
				if !fromTerminal(s) {
					p.Signal(s)
				}
			case <-f.done:
				return
			}
		}
	}()
}

func (f *signalForwarder) stop() { signal.Stop(f.c); close(f.done) }

// fromTerminal reports whether s is a signal the terminal sends to its
// whole foreground process group, and kr is in that group. Go does not
// tell who sent a signal; a SIGINT sent with kill to kr alone while it is
// in the foreground is therefore not passed on.
func fromTerminal(s os.Signal) bool {
	if s != syscall.SIGINT && s != syscall.SIGQUIT {
		return false
	}
	tty, err := os.Open("/dev/tty") // fails when there is no controlling terminal
	if err != nil {
		return false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}

func statusOf(ps *os.ProcessState) Status {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Status{Code: 128 + int(ws.Signal()), Signal: ws.Signal()}
	}
	return Status{Code: ps.ExitCode()}
}

// Reraise ends kr with the signal that killed the child, so that the shell
// sees the same status ($? = 128+n, and "Terminated" and the like). It
// returns, leaving the caller to exit with 128+n, for signals the Go
// runtime would not die of quietly: SIGQUIT and SIGABRT make it print a
// goroutine dump and exit 2, and others it ignores when sent by kill.
func Reraise(s os.Signal) {
	sig, ok := s.(syscall.Signal)
	if !ok {
		return
	}
	switch sig {
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL:
	default:
		return
	}
	signal.Reset(sig)
	syscall.Kill(os.Getpid(), sig)
	// The signal may land on another thread a moment later: wait for it
	// rather than race it to the fallback exit.
	time.Sleep(time.Second)
}
