// Package backends defines the contract every credential store behind kr
// implements: the Backend interface, the sentinel errors callers test with
// errors.Is, the rules for secret names and sizes, and the selection of a
// store by name or automatically.
package backends

import (
	"context"
	"errors"
	"fmt"
)

// Backend is one credential store. Every method honours ctx: no call may
// block past the context's deadline. Names passed to a Backend have already
// been checked by ValidateName when it is wrapped by Checked, which is how
// kr always uses one.
type Backend interface {
	// Name is the backend's selection name: "file", "secretservice", ...
	Name() string
	// Get returns the value stored under name, or an error wrapping ErrNotFound.
	Get(ctx context.Context, name string) ([]byte, error)
	// Set stores value under name, replacing any previous value atomically.
	Set(ctx context.Context, name string, value []byte) error
	// Delete removes name, or returns an error wrapping ErrNotFound.
	Delete(ctx context.Context, name string) error
	// List returns the names that start with prefix, sorted, without values.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Errors a Backend wraps so that callers can classify failures with errors.Is.
var (
	ErrNotFound    = errors.New("secret not found")
	ErrLocked      = errors.New("store is locked")
	ErrCanceled    = errors.New("prompt was dismissed")
	ErrUnavailable = errors.New("store is unavailable")
	ErrTooBig      = errors.New("value is too big")
	ErrInvalidName = errors.New("invalid secret name")
	// ErrUnsupported is returned by the stub of a backend on an operating
	// system it does not support.
	ErrUnsupported = fmt.Errorf("not supported on this system: %w", ErrUnavailable)
	// ErrNotThisSystem is a store of this OS's table that this machine
	// cannot have (the WSL bridge outside WSL): auto passes it by without
	// naming it among the stores that did not answer.
	ErrNotThisSystem = fmt.Errorf("%w here", ErrUnavailable)
)

// MaxValueSize is the largest value every backend must store.
const MaxValueSize = 1 << 20

// MaxNameSize is the longest name in bytes.
const MaxNameSize = 256

// Peeker is a store that can tell whether a name is there without
// unlocking, prompting or decrypting anything: cheap enough to look in a
// store other than the selected one when a name is not found.
type Peeker interface {
	Has(ctx context.Context, name string) (bool, error)
}

// BatchSetter is a store that writes many values at once, all or none, in
// one go: one lock and one flush for the file vault, where a Set per value
// pays both each time (kr import).
type BatchSetter interface {
	SetMany(ctx context.Context, names []string, values [][]byte) error
}
