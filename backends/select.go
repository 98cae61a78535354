package backends

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Names of the stores, as given to --backend and KR_BACKEND. Which of them
// exist on a system, and what kr knows of each, is the CLI's registry
// (internal/cli/registry.go).
const (
	Auto          = "auto"
	SecretService = "secretservice"
	Keychain      = "keychain"
	DPAPI         = "dpapi"
	WSL           = "wsl" // dpapi's items, from WSL through kr.exe
	File          = "file"
)

// ProbeTimeout bounds a look into a store kr is not using for the command
// (kr doctor, the hint that a name is in another store). The store in use
// gets the command's whole --timeout: a slow store is an error, never a
// reason to choose another.
const ProbeTimeout = time.Second

// Candidate is a store Select may open. Open must return an error wrapping
// ErrUnavailable, promptly, when the store is not there at all (no bus, no
// service), and any other error when it is there but fails, stalls or is
// locked: only the first is a reason to use another store.
type Candidate struct {
	Name  string
	Label string // how people call it: "the Secret Service"
	Open  func(ctx context.Context) (Backend, error)
}

// Choice is the outcome of Select.
type Choice struct {
	Backend Backend
	// New is true when auto chose with nothing recorded: the first write
	// records Backend's name, and Why says why it was chosen.
	New bool
	Why string
	// Notice, when set, is one line for stderr: a recorded store was
	// ignored because it cannot exist here.
	Notice string
}

// RecordedError means the store recorded for the service could not be
// opened. kr never falls back from a recorded store: the secrets are there.
type RecordedError struct {
	Store Candidate
	Err   error
}

func (e *RecordedError) Error() string {
	return fmt.Sprintf("%s, the store recorded for this service, %s: %v", e.Store.Label, verb(e.Err), e.Err.Error())
}
func (e *RecordedError) Unwrap() error { return e.Err }

// PresentError means auto found an OS store that is there but failed (a
// stall, a lock, a broken reply). That is never a reason to use another
// store: a write would go elsewhere and a later read would serve the old
// value.
type PresentError struct {
	Store Candidate
	Err   error
}

func (e *PresentError) Error() string {
	return fmt.Sprintf("%s is there but %s: %v", e.Store.Label, verb(e.Err), e.Err.Error())
}
func (e *PresentError) Unwrap() error { return e.Err }

func verb(err error) string {
	switch {
	case errors.Is(err, ErrUnavailable):
		return "is not reachable from here"
	case errors.Is(err, context.DeadlineExceeded):
		return "did not answer in time"
	case errors.Is(err, ErrLocked), errors.Is(err, ErrCanceled):
		return "is locked"
	}
	return "failed"
}

// Select opens the store for one command.
//
//   - want names a store (--backend, KR_BACKEND): that one, whatever was
//     recorded.
//   - want is auto and recorded names a store of this system: that one; if
//     it cannot be opened the error says so (a *RecordedError).
//   - want is auto and nothing usable is recorded: the first native store
//     that opens, else, only if every native store is unavailable (not
//     merely slow, locked or failing), the fallback. Choice.New is set so
//     that the first write records it.
func Select(ctx context.Context, want, recorded string, native []Candidate, fallback Candidate) (Choice, error) {
	if want == "" {
		want = Auto
	}
	if want != Auto {
		c, ok := Lookup(want, native, fallback)
		if !ok {
			return Choice{}, fmt.Errorf("backend %s: %w", want, ErrUnsupported)
		}
		b, err := c.Open(ctx)
		if err != nil {
			return Choice{}, err
		}
		return Choice{Backend: Checked(b)}, nil
	}
	var ch Choice
	if recorded != "" {
		c, ok := Lookup(recorded, native, fallback)
		if ok {
			b, err := c.Open(ctx)
			if err != nil {
				return Choice{}, &RecordedError{Store: c, Err: err}
			}
			return Choice{Backend: Checked(b)}, nil
		}
		ch.Notice = fmt.Sprintf("the recorded store %q does not exist on this system; choosing again", recorded)
	}
	var why []string
	for _, c := range native {
		b, err := c.Open(ctx)
		if err == nil {
			ch.Backend, ch.New, ch.Why = Checked(b), true, strings.Join(append(why, c.Label+" answered"), "; ")
			return ch, nil
		}
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return Choice{}, &PresentError{Store: c, Err: err}
		}
		if !errors.Is(err, ErrNotThisSystem) {
			why = append(why, fmt.Sprintf("%s: %v", c.Label, err.Error()))
		}
	}
	b, err := fallback.Open(ctx)
	if err != nil {
		return Choice{}, err
	}
	ch.Backend, ch.New = Checked(b), true
	ch.Why = "no OS store here"
	if len(why) > 0 {
		ch.Why = strings.Join(why, "; ")
	}
	return ch, nil
}

// Lookup returns the candidate named name, for callers that open a store
// other than the selected one (a hint that a secret is elsewhere).
func Lookup(name string, native []Candidate, fallback Candidate) (Candidate, bool) {
	for _, c := range append(append([]Candidate(nil), native...), fallback) {
		if c.Name == name {
			return c, true
		}
	}
	return Candidate{}, false
}
