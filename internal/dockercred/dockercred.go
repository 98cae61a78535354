// Package dockercred speaks docker's credential helper protocol
// (github.com/docker/docker-credential-helpers): the client runs the helper
// with one action as its argument, writes the request on stdin and reads
// the answer, or on failure a one-line message, on stdout. It owns the
// parsing of requests (bounded and strict: a request docker would never
// send is refused, never guessed at) and the layouts in which logins are
// stored, each the one docker's own helper for that store uses, so a login
// made with either helper is seen by both.
package dockercred

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/credkit"
)

// Actions, the helper's first argument.
const (
	ActionStore = "store"
	ActionGet   = "get"
	ActionErase = "erase"
	ActionList  = "list"
)

// Label is the label docker's helpers give their items ("label" attribute on
// the Secret Service, the Keychain item's label, a Credential Manager
// attribute) and look for when listing.
const Label = "Docker Credentials"

// TokenUsername is the username docker stores with an identity token (an
// OAuth refresh token) as the secret, in place of a password.
const TokenUsername = "<token>"

// Credentials is one login: the registry's address as docker spells it
// ("https://index.docker.io/v1/", "registry.example:5000") and what to send.
type Credentials struct {
	ServerURL string
	Username  string
	Secret    string
}

// Store is where logins are kept. Get and Delete of a server with no login
// return an error wrapping backends.ErrNotFound.
type Store interface {
	Add(ctx context.Context, c Credentials) error
	Get(ctx context.Context, serverURL string) (Credentials, error)
	Delete(ctx context.Context, serverURL string) error
	// List maps each server URL to its username.
	List(ctx context.Context) (map[string]string, error)
}

// Messages docker's client recognises on a helper's stdout, word for word
// (credentials/error.go of docker-credential-helpers): the first makes a
// lookup "no login" instead of a failure.
const (
	msgNotFound         = "credentials not found in native keychain"
	msgMissingServerURL = "no credentials server URL"
	msgMissingUsername  = "no credentials username"
)

// protocolError is a failure whose message the client reads as a kind, so
// it carries exactly that text; cause keeps it testable with errors.Is.
type protocolError struct {
	msg   string
	cause error
}

func (e *protocolError) Error() string { return e.msg }
func (e *protocolError) Unwrap() error { return e.cause }

var (
	// ErrNotFound is the answer for a server with no login.
	ErrNotFound = &protocolError{msgNotFound, backends.ErrNotFound}
	// ErrMissingServerURL is the answer to a request without a server URL.
	ErrMissingServerURL = &protocolError{msgMissingServerURL, ErrBadRequest}
	// ErrMissingUsername is the answer to a store without a username.
	ErrMissingUsername = &protocolError{msgMissingUsername, ErrBadRequest}
)

// ErrBadRequest is wrapped by every refusal of malformed input.
var ErrBadRequest = errors.New("bad request")

// Serve runs one action: it reads and checks the request from in, and only
// then opens the store, so malformed input never touches it. The answer goes
// to out. The error's message, when there is one, is what the helper prints
// on stdout for the client: exactly docker's text for a missing login
// (erase of a missing login succeeds, as with docker's Secret Service and
// Credential Manager helpers, so logout is idempotent).
func Serve(ctx context.Context, action string, in io.Reader, out io.Writer, open func(context.Context) (Store, error)) error {
	var c Credentials
	var url string
	var err error
	switch action {
	case ActionStore:
		c, err = ReadStore(in)
	case ActionGet, ActionErase:
		url, err = ReadServerURL(in)
	case ActionList:
		// docker writes "unused" on stdin; nothing in it matters.
	default:
		return fmt.Errorf("%w: unknown action %q", ErrBadRequest, action)
	}
	if err != nil {
		return err
	}
	s, err := open(ctx)
	if err != nil {
		return err
	}
	switch action {
	case ActionStore:
		return s.Add(ctx, c)
	case ActionGet:
		got, err := s.Get(ctx, url)
		if errors.Is(err, backends.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		// docker's helpers answer with the URL asked for, whatever
		// spelling matched.
		return writeJSON(out, Credentials{ServerURL: url, Username: got.Username, Secret: got.Secret})
	case ActionErase:
		if err := s.Delete(ctx, url); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return err
		}
		return nil
	}
	m, err := s.List(ctx)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]string{}
	}
	return writeJSON(out, m)
}

// Server is docker's credential helper as credkit serves every protocol.
type Server struct {
	// Open returns the layout of docker's own helper in the store the
	// login goes to or comes from, once the request is read and checked.
	Open func(ctx context.Context, action string) (Store, error)
	// Stored, when set, runs once a store kept the login.
	Stored func() error
}

var _ credkit.Helper = Server{}

// Serve is Serve's function with s's store; its error's message is what
// the helper prints on stdout for the client.
func (s Server) Serve(ctx context.Context, action string, in io.Reader, out io.Writer) error {
	err := Serve(ctx, action, in, out, func(ctx context.Context) (Store, error) { return s.Open(ctx, action) })
	if err == nil && action == ActionStore && s.Stored != nil {
		err = s.Stored()
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
