//go:build !windows

package cli

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// openTerminal opens the controlling terminal, whatever stdin is: a
// passphrase is asked there even when stdin carries data, as age, ssh, gpg
// and sudo do. Only a process without one (cron, CI, setsid) gets
// errNoTerminal, from open's ENXIO.
func openTerminal() (Terminal, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return &ttyTerminal{in: f, out: f}, nil
}

// readSecret shows prompt and reads one line from the terminal in with
// echo off. The prompt comes once echo is off, as in OpenSSH's
// readpassphrase: what is typed after it is never shown. Whatever
// ends kr meanwhile (Ctrl-C, a kill, a hangup) finds the terminal as it
// was: kr restores it, then dies of that signal, so that a shell or a loop
// sees an interrupt (status 130 for Ctrl-C) as for any program. Without
// this, dash and scripts were left with echo off.
func readSecret(in, out *os.File, prompt string) ([]byte, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	if err != nil {
		return nil, err
	}
	hidden := *old
	hidden.Lflag &^= unix.ECHO
	hidden.Lflag |= unix.ICANON | unix.ISIG
	hidden.Iflag |= unix.ICRNL
	restore := func() { unix.IoctlSetTermios(fd, ioctlWriteTermios, old) }
	stop := restoreOnSignal(func() {
		restore()
		fmt.Fprintln(out) // the shell's next line starts clear of the prompt
	})
	defer stop()
	if err := unix.IoctlSetTermios(fd, ioctlWriteTermios, &hidden); err != nil {
		return nil, err
	}
	defer restore()
	fmt.Fprint(out, prompt)
	return readLine(in)
}

// restoreOnSignal runs restore when a signal that ends kr arrives, then
// re-raises that signal on kr with its default action. Signals kr was
// started with ignored stay ignored (signal.Notify would undo that).
func restoreOnSignal(restore func()) (stop func()) {
	var sigs []os.Signal
	for _, s := range []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	if len(sigs) == 0 {
		return func() {}
	}
	c := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(c, sigs...)
	go func() {
		select {
		case s := <-c:
			restore()
			signal.Reset(s)
			syscall.Kill(syscall.Getpid(), s.(syscall.Signal))
		case <-done:
		}
	}()
	return func() {
		signal.Stop(c)
		close(done)
	}
}
