// Package credkit is what every credential-helper protocol kr speaks (git's,
// docker's) shares: raw access to the items of each OS credential store, by
// the store's own address (a Credential Manager target, a Keychain internet
// password's protocol, server, port, path and account, a Secret Service
// item's attributes), and the one interface a helper serves through. A
// protocol package keeps only its wire format (parsing requests, printing
// answers) and its layout (how one of its credentials maps to a store's
// native item); the bindings to the stores live here, once.
//
// Values are []byte everywhere: whoever reads one wipes it (clear) when done,
// and no binding keeps a copy.
package credkit

import (
	"context"
	"errors"
	"io"
)

// ErrNoItem is what the raw stores return when no item is at the address
// asked for. Layouts turn it into backends.ErrNotFound, or into their
// protocol's own "not found" answer.
var ErrNoItem = errors.New("no such credential")

// Helper is a credential-helper protocol ready to answer for one store.
// Serve reads the request for action from in, whole, and checks it before
// it opens any store (a client writes its request and then waits, and
// malformed input must never touch a store); it then carries the action
// out on the protocol's layout in the store and writes the answer to out.
// Both git's and docker's helpers are served through it.
type Helper interface {
	Serve(ctx context.Context, action string, in io.Reader, out io.Writer) error
}
