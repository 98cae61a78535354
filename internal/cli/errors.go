package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/backends/remote/aws"
)

// Exit codes, one map for the whole CLI (DESIGN.md, CLI conventions).
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
	exitLocked   = 4 // locked, canceled or timed out
)

// hintError carries the next step a user can take, printed as "kr: hint:".
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }
func (e *hintError) Hint() string  { return e.hint }

// hinter is an error that knows the next step: kr's own hintError, or a
// lower layer's error type (filevault.UnacceptedError) that cannot import cli.
type hinter interface{ Hint() string }

// withHint attaches a hint to err; nil stays nil.
func withHint(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// usageError marks a mistake in the command line itself (exit 2). cmd,
// when known, is the command whose help the hint names; suggest lists
// commands that might have been meant.
type usageError struct {
	err     error
	cmd     string
	suggest []string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// ExitCodeError ends kr with a code and no message: a child's exit status
// passed through by exec.
type ExitCodeError struct{ Code int }

func (e *ExitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	var ec *ExitCodeError
	var ue *usageError
	var em *exitWithMessage
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ec):
		return ec.Code
	case errors.As(err, &em):
		return em.code
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, backends.ErrNotFound):
		return exitNotFound
	case errors.Is(err, backends.ErrLocked), errors.Is(err, backends.ErrCanceled),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return exitLocked
	}
	return exitError
}

// defaultHint suggests a next step for errors that did not bring their own.
func defaultHint(err error) string {
	var ue *usageError
	var ie *filevault.IdentityError
	switch {
	case errors.As(err, &ue):
		cmd := ue.cmd
		if cmd == "" {
			cmd = "kr"
		}
		return fmt.Sprintf("run '%s --help' for usage", cmd)
	case errors.Is(err, aws.ErrCredentials):
		return "check the keys or AWS_PROFILE; 'aws sts get-caller-identity' tries the same configuration"
	case errors.Is(err, backends.ErrLocked):
		return "run 'kr unlock', or set KR_PASSPHRASE_FILE for non-interactive use"
	case errors.Is(err, context.DeadlineExceeded):
		return "the store did not answer in time; raise --timeout or check 'kr doctor'"
	case errors.Is(err, backends.ErrUnavailable):
		return "check 'kr doctor', or use the file vault with --backend file"
	case errors.Is(err, filevault.ErrNoVault):
		return "check --vault and KR_VAULT for a typo; 'kr init' creates a vault there"
	case errors.As(err, &ie):
		return "the secrets are not affected: restore the identity file from a backup, or 'kr recover' writes a vault's identity.age again from its recovery code"
	case errors.Is(err, backends.ErrInvalidName):
		return "names are 1-256 bytes of A-Z a-z 0-9 . _ - / @ + : in segments separated by /"
	}
	return ""
}

// printError writes err in kr's one output policy: a lowercase
// "kr: error: ..." line, then "kr: hint: ..." where a next step exists.
func printError(w io.Writer, err error) {
	var ec *ExitCodeError
	if errors.As(err, &ec) {
		return
	}
	msg := oneLine(err.Error())
	fmt.Fprintf(w, "kr: error: %s\n", msg)
	hint := defaultHint(err)
	var he hinter
	if errors.As(err, &he) {
		hint = he.Hint()
	}
	if hint != "" {
		fmt.Fprintf(w, "kr: hint: %s\n", oneLine(hint))
	}
	var ue *usageError
	if errors.As(err, &ue) && len(ue.suggest) > 0 {
		fmt.Fprintf(w, "kr: hint: did you mean %s?\n", oneLine(strings.Join(ue.suggest, " or ")))
	}
}

// oneLine keeps a message on one line and free of terminal control bytes,
// whatever a backend or the OS put in it.
func oneLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
