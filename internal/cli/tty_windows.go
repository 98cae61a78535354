//go:build windows

package cli

import (
	"fmt"
	"os"
	"os/signal"

	"golang.org/x/sys/windows"
	"golang.org/x/term"
)

// openTerminal opens the console, whatever stdin is: a passphrase is asked
// there even when stdin carries data. Only a process without a console
// gets errNoTerminal.
func openTerminal() (Terminal, error) {
	// A console with no window (a program started with CREATE_NO_WINDOW,
	// as editors and GUI git clients start git and its helpers) opens, but
	// nobody sees it: a prompt there would wait for ever. It is no
	// terminal, and a pinentry dialog asks instead.
	if hwnd, _, _ := getConsoleWindow.Call(); hwnd == 0 {
		return nil, fmt.Errorf("%w: the console has no window", errNoTerminal)
	}
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return &ttyTerminal{in: in, out: out}, nil
}

var getConsoleWindow = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetConsoleWindow")

// statusControlCExit is STATUS_CONTROL_C_EXIT, the code of a console
// program ended by Ctrl-C.
const statusControlCExit = -1073741510 // 0xC000013A as an int32

// readSecret shows prompt and reads one line from the console without
// echo. Ctrl-C or Ctrl-Break meanwhile gives the console its mode back
// before kr exits, as a program ended by Ctrl-C does.
func readSecret(in, out *os.File, prompt string) ([]byte, error) {
	fd := int(in.Fd())
	old, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	c := make(chan os.Signal, 1)
	done := make(chan struct{})
	signal.Notify(c, os.Interrupt)
	defer func() {
		signal.Stop(c)
		close(done)
	}()
	go func() {
		select {
		case <-c:
			term.Restore(fd, old)
			fmt.Fprintln(out)
			os.Exit(statusControlCExit)
		case <-done:
		}
	}()
	fmt.Fprint(out, prompt)
	return term.ReadPassword(fd)
}
