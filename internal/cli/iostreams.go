package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams carries the command's standard streams and what is known about
// them, so that commands run the same under tests as on a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InIsTTY  bool // stdin is a terminal: secrets are prompted for, not read
	OutIsTTY bool // stdout is a terminal: `get` adds a newline

	// OpenTerminal opens the controlling terminal for prompts and for
	// showing a recovery code. It fails when there is none.
	OpenTerminal func() (Terminal, error)
}

// Terminal is where prompts go: never stdout, which may be a pipe.
type Terminal interface {
	io.Writer
	// ReadSecret prints prompt and reads one line without echo.
	ReadSecret(prompt string) ([]byte, error)
	Close() error
}

// errNoTerminal means a prompt was needed and there is no terminal to show it.
var errNoTerminal = errors.New("no terminal to prompt on")

// SystemIO returns the process's streams.
func SystemIO() *IOStreams {
	return &IOStreams{
		In:           os.Stdin,
		Out:          os.Stdout,
		ErrOut:       os.Stderr,
		InIsTTY:      term.IsTerminal(int(os.Stdin.Fd())),
		OutIsTTY:     term.IsTerminal(int(os.Stdout.Fd())),
		OpenTerminal: openTerminal,
	}
}

// CanPrompt reports whether a prompt can be shown and answered: stdin is a
// terminal and the terminal can be opened.
func (s *IOStreams) CanPrompt() bool {
	if !s.InIsTTY || s.OpenTerminal == nil {
		return false
	}
	t, err := s.OpenTerminal()
	if err != nil {
		return false
	}
	t.Close()
	return true
}

// ttyTerminal is a Terminal on OS files (/dev/tty, or CONIN$ and CONOUT$).
type ttyTerminal struct {
	in, out *os.File
}

func (t *ttyTerminal) Write(p []byte) (int, error) { return t.out.Write(p) }

func (t *ttyTerminal) ReadSecret(prompt string) ([]byte, error) {
	fmt.Fprint(t.out, prompt)
	b, err := term.ReadPassword(int(t.in.Fd()))
	fmt.Fprintln(t.out)
	if err != nil {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	return b, nil
}

func (t *ttyTerminal) Close() error {
	err := t.in.Close()
	if t.out != t.in {
		if e := t.out.Close(); err == nil {
			err = e
		}
	}
	return err
}
