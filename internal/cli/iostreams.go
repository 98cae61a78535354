package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kr-keyring/kr/backends"
)

// IOStreams carries the command's standard streams and what is known about
// them, so that commands run the same under tests as on a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InIsTTY  bool // stdin is a terminal: `set` asks for the value instead of reading stdin
	OutIsTTY bool // stdout is a terminal: `get` adds a newline

	// OpenTerminal opens the controlling terminal for prompts and for
	// showing a recovery code, whatever stdin is. It fails, with
	// errNoTerminal, only when there is none.
	OpenTerminal func() (Terminal, error)
}

// Terminal is where prompts go: never stdout, which may be a pipe.
type Terminal interface {
	io.Writer
	// ReadSecret prints prompt and reads one line without echo.
	ReadSecret(prompt string) ([]byte, error)
	// ReadLine prints prompt and reads one line, echoed as typed.
	ReadLine(prompt string) (string, error)
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

// CanPrompt reports whether a prompt can be shown and answered: kr has a
// controlling terminal. Stdin does not matter: it may carry data while the
// passphrase is typed on the terminal.
func (s *IOStreams) CanPrompt() bool {
	if s.OpenTerminal == nil {
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
	b, err := readSecret(t.in, t.out, prompt)
	fmt.Fprintln(t.out)
	if err != nil {
		return nil, terminalError(err)
	}
	return b, nil
}

func (t *ttyTerminal) ReadLine(prompt string) (string, error) {
	fmt.Fprint(t.out, prompt)
	b, err := readLine(t.in)
	if err != nil {
		return "", terminalError(err)
	}
	return string(b), nil
}

// maxLine bounds what one answer at the terminal may hold.
const maxLine = 64 << 10

// readLine reads up to a newline, a byte at a time so that nothing after
// it is taken from the terminal. End of input (Ctrl-D) before any byte is
// io.EOF: a read of zero bytes must not be retried, or Ctrl-D would be
// ignored and a closed terminal spin.
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			switch b[0] {
			case '\n':
				return line, nil
			case '\r':
				continue
			}
			if len(line) == maxLine {
				clear(line)
				return nil, fmt.Errorf("line longer than %d bytes", maxLine)
			}
			if len(line) == cap(line) {
				// grow by hand, so that no copy of a secret is left behind
				bigger := make([]byte, len(line), 2*cap(line)+64)
				copy(bigger, line)
				clear(line)
				line = bigger
			}
			line = append(line, b[0])
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			if len(line) > 0 {
				return line, nil
			}
			return nil, io.EOF
		}
		clear(line)
		return nil, err
	}
}

// terminalError words a failed read at a prompt: end of input (Ctrl-D) is
// a dismissed prompt (exit 4), like a store's own prompt closed unanswered.
func terminalError(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: end of input on the terminal", backends.ErrCanceled)
	}
	return fmt.Errorf("read from terminal: %w", err)
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
