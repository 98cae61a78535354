// Package pinentry asks for a secret through a pinentry program (GnuPG's
// dialogs: pinentry-gtk2, -qt, -gnome3, -curses, -mac, Gpg4win's), over
// the Assuan protocol on the program's stdin and stdout. It is how kr asks
// for a passphrase when there is no terminal: the program runs as a child
// of the process that needs the secret, for one exchange, and is ended
// when the exchange is over, canceled or unanswered for too long.
//
// What is typed stays in []byte buffers this package wipes: it never
// becomes a Go string and is never part of an error.
package pinentry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// ErrCanceled is a dialog dismissed (Cancel, Escape, a closed window).
var ErrCanceled = fmt.Errorf("%w in the pinentry dialog", backends.ErrCanceled)

// ErrMismatch is a new passphrase typed differently the second time.
var ErrMismatch = errors.New("the two entries differ")

// TimeoutError is a dialog nobody answered within Options.Timeout. It is
// context.DeadlineExceeded for errors.Is, so it exits as a timeout.
type TimeoutError struct {
	Program string
	Limit   time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("nobody answered %s within %v", e.Program, e.Limit)
}

// Is makes a TimeoutError a context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Options says which program to run and what it needs to know of where
// it shows itself.
type Options struct {
	Program string   // a path, or a name looked up on PATH
	Env     []string // the program's environment; nil inherits this process's
	// TTYName and TTYType are for pinentry-curses and -tty: the terminal
	// to draw on (GPG_TTY) and its type (TERM).
	TTYName, TTYType string
	LCCtype          string // the locale of the text
	Display          string // X display (the program reads DISPLAY too)
	// Timeout ends a dialog nobody answers: the program is killed and
	// the ask fails with a *TimeoutError. Zero means no limit.
	Timeout time.Duration
}

// Prompt is the text of one dialog.
type Prompt struct {
	Title       string // the window's title
	Description string // what is asked, for what and by whom
	Prompt      string // the label before the entry field
	Error       string // why it is asked again, shown in the dialog (SETERROR)
	// Repeat, when set, asks for the entry twice (a new passphrase): the
	// label of the second field. A program that cannot show both asks
	// again in a second step; entries that differ are ErrMismatch.
	Repeat     string
	OK, Cancel string // button labels; "" keeps the program's own
	// NotOK, when set, is a third button between them (SETNOTOK), for
	// Choose.
	NotOK string
}

// GetPIN shows p and returns what was typed. The caller wipes it.
func GetPIN(ctx context.Context, o Options, p Prompt) ([]byte, error) {
	var pin []byte
	err := run(ctx, o, func(s *session) error {
		if err := s.setup(p); err != nil {
			return err
		}
		if p.Repeat != "" {
			if _, err := s.transact(command("SETREPEAT", p.Repeat), false); err != nil && !isAssuanError(err) {
				return err
			}
		}
		var err error
		s.repeated = false
		if pin, err = s.transact([]byte("GETPIN"), true); err != nil || p.Repeat == "" || s.repeated {
			return err
		}
		// No PIN_REPEATED: this program showed one field. Ask again.
		if _, err := s.transact(command("SETPROMPT", p.Repeat), false); err != nil {
			return err
		}
		again, err := s.transact([]byte("GETPIN"), true)
		defer clear(again)
		if err == nil && !bytes.Equal(pin, again) {
			err = ErrMismatch
		}
		return err
	})
	if err != nil {
		clear(pin)
		if errors.Is(err, ErrCanceled) {
			return nil, ErrCanceled // its own words: "Operation cancelled <Pinentry>" adds nothing
		}
		return nil, err
	}
	return pin, nil
}

// Confirm shows p with OK and Cancel and reports whether OK was chosen.
func Confirm(ctx context.Context, o Options, p Prompt) (bool, error) {
	ok := false
	err := run(ctx, o, func(s *session) error {
		if err := s.setup(p); err != nil {
			return err
		}
		_, err := s.transact([]byte("CONFIRM"), false)
		var ae *AssuanError
		switch {
		case err == nil:
			ok = true
		case errors.As(err, &ae) && ae.code() == errNotConfirmed:
			return nil
		}
		return err
	})
	return ok, err
}

// Choice is the button chosen in a Choose dialog.
type Choice int

const (
	ChoseCancel Choice = iota // Cancel, or the dialog dismissed
	ChoseOK
	ChoseNotOK
)

// Choose shows p with its OK, NotOK and Cancel buttons and reports which
// was chosen; a dismissed dialog is ChoseCancel, not an error.
func Choose(ctx context.Context, o Options, p Prompt) (Choice, error) {
	choice := ChoseCancel
	err := run(ctx, o, func(s *session) error {
		if err := s.setup(p); err != nil {
			return err
		}
		_, err := s.transact([]byte("CONFIRM"), false)
		var ae *AssuanError
		switch {
		case err == nil:
			choice = ChoseOK
		case errors.As(err, &ae) && ae.code() == errNotConfirmed && p.NotOK != "":
			choice = ChoseNotOK
		case errors.Is(err, ErrCanceled), errors.As(err, &ae) && ae.code() == errNotConfirmed:
			choice = ChoseCancel
		default:
			return err
		}
		return nil
	})
	return choice, err
}

// run starts the program, runs f on the session and ends it: BYE, then
// the program's exit, all within the one timeout.
func run(ctx context.Context, o Options, f func(*session) error) error {
	cmd := exec.Command(o.Program)
	cmd.Env = o.Env
	cmd.Stderr = nil // the program's diagnostics are not kr's output
	dieWithParent(cmd)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pinentry: %w", err)
	}
	// One goroutine ends the program when the ask is over one way or
	// another: answered, canceled (ctx) or unanswered past the timeout.
	// Killing it closes its stdout, which ends any read in progress.
	done := make(chan struct{})
	timedOut := make(chan struct{})
	var timer <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		timer = t.C
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-done:
			return
		case <-ctx.Done():
		case <-timer:
			close(timedOut)
		}
		cmd.Process.Kill()
		// A child it left behind may hold its stdout open: closing our
		// end ends the read all the same.
		out.Close()
	}()
	s := &session{opts: o, w: in, r: newLineReader(out)}
	err = s.greeting()
	if err == nil {
		err = f(s)
	}
	if err == nil {
		s.send([]byte("BYE"))
	}
	in.Close()
	if err != nil {
		// Nothing more is wanted from it: a program that ignores a closed
		// stdin must not keep kr waiting.
		cmd.Process.Kill()
	}
	s.r.wipe()
	waitErr := cmd.Wait()
	close(done)
	<-watched
	select {
	case <-timedOut:
		return &TimeoutError{Program: o.Program, Limit: o.Timeout}
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return waitErr
	}
	return nil
}

// session is one Assuan exchange with a started program.
type session struct {
	opts     Options
	w        io.Writer
	r        *lineReader
	repeated bool // the last GETPIN's entry was typed twice, alike (S PIN_REPEATED)
}

func (s *session) greeting() error {
	_, err := s.read(nil, false)
	if err != nil {
		return fmt.Errorf("pinentry did not greet: %w", err)
	}
	return nil
}

// setup sends the options and the text of p. Options a program does not
// know are refused by it, and that is no reason to stop: they are hints.
func (s *session) setup(p Prompt) error {
	for _, opt := range []struct{ key, val string }{
		{"ttyname", s.opts.TTYName}, {"ttytype", s.opts.TTYType},
		{"lc-ctype", s.opts.LCCtype}, {"display", s.opts.Display},
	} {
		if opt.val == "" {
			continue
		}
		if _, err := s.transact(command("OPTION", opt.key+"="+opt.val), false); err != nil && !isAssuanError(err) {
			return err
		}
	}
	for _, c := range []struct{ verb, text string }{
		{"SETTITLE", p.Title}, {"SETDESC", p.Description}, {"SETPROMPT", p.Prompt},
		{"SETERROR", p.Error}, {"SETOK", p.OK}, {"SETCANCEL", p.Cancel}, {"SETNOTOK", p.NotOK},
	} {
		if c.text == "" {
			continue
		}
		if _, err := s.transact(command(c.verb, c.text), false); err != nil {
			return err
		}
	}
	return nil
}

func isAssuanError(err error) bool {
	var ae *AssuanError
	return errors.As(err, &ae)
}

func (s *session) send(line []byte) error {
	buf := make([]byte, 0, len(line)+1)
	buf = append(buf, line...)
	buf = append(buf, '\n')
	_, err := s.w.Write(buf)
	clear(buf)
	return err
}

// transact sends line and reads the answer up to OK or ERR; with data, the
// D lines' bytes are returned (decoded, in a buffer the caller wipes).
func (s *session) transact(line []byte, data bool) ([]byte, error) {
	if err := s.send(line); err != nil {
		return nil, fmt.Errorf("write to pinentry: %w", err)
	}
	return s.read(s.w, data)
}

// read reads responses up to the final OK or ERR. An INQUIRE (a quality
// bar asking about the passphrase so far) is answered with CAN: kr tells
// nothing about what is being typed.
func (s *session) read(w io.Writer, data bool) ([]byte, error) {
	var d []byte
	for {
		line, err := s.r.readLine()
		if err != nil {
			clear(d)
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("read from pinentry: %w", err)
		}
		r, err := parseResponse(line)
		if err != nil {
			clear(d)
			return nil, err
		}
		switch r.kind {
		case kindOK:
			return d, nil
		case kindErr:
			clear(d)
			return nil, r.err
		case kindData:
			if !data {
				continue
			}
			if d, err = appendDecoded(d, r.data); err != nil {
				clear(d)
				return nil, err
			}
		case kindStatus:
			if bytes.HasPrefix(r.data, []byte("PIN_REPEATED")) {
				s.repeated = true
			}
		case kindInquire:
			if w != nil {
				if err := s.send([]byte("CAN")); err != nil {
					clear(d)
					return nil, err
				}
			}
		}
	}
}

// Gpg-error codes a pinentry answers with (the low 16 bits of ERR's number).
const (
	errTimeout      = 62
	errCanceled     = 99
	errNotConfirmed = 114
	errFullyCancel  = 198
	errAssCanceled  = 277
)

// AssuanError is an ERR line: a gpg-error number and its text.
type AssuanError struct {
	Code uint32
	Text string
}

func (e *AssuanError) code() uint32 { return e.Code & 0xffff }

func (e *AssuanError) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("pinentry: error %d", e.Code)
	}
	return fmt.Sprintf("pinentry: %s (error %d)", e.Text, e.Code)
}

// Is maps the codes that mean "dismissed" to ErrCanceled, and a pinentry's
// own timeout to context.DeadlineExceeded.
func (e *AssuanError) Is(target error) bool {
	switch e.code() {
	case errCanceled, errFullyCancel, errAssCanceled:
		return target == backends.ErrCanceled || target == ErrCanceled
	case errTimeout:
		return target == context.DeadlineExceeded
	}
	return false
}

func parseErrCode(s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}
