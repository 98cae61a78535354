package secretservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// D-Bus error names kr tells apart.
const (
	errIsLocked       = "org.freedesktop.Secret.Error.IsLocked"
	errNoSession      = "org.freedesktop.Secret.Error.NoSession"
	errNoSuchObject   = "org.freedesktop.Secret.Error.NoSuchObject"
	errNotSupported   = "org.freedesktop.DBus.Error.NotSupported"
	errUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errInvalidArgs    = "org.freedesktop.DBus.Error.InvalidArgs"
	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errNoReply        = "org.freedesktop.DBus.Error.NoReply"
	errDisconnected   = "org.freedesktop.DBus.Error.Disconnected"
)

// errBackendClosed is a call on a Backend after Close: a caller's mistake,
// not a missing store.
var errBackendClosed = errors.New("backend is closed")

// classify maps a failed call to kr's errors. ErrUnavailable means only
// that the bus or the service is not there: auto-selection moves on to
// another store for it, so a service that is slow (the caller's context
// ended, or the bus gave up waiting: NoReply), locked or failing keeps its
// own error.
func classify(what string, err error) error {
	switch {
	case isContextErr(err):
		return noAnswer(what, err)
	case dbusErrorName(err) == errIsLocked:
		return fmt.Errorf("%s: %w", what, backends.ErrLocked)
	case serviceMissing(err):
		return fmt.Errorf("%w: no Secret Service on the session bus (is gnome-keyring or KeePassXC running?)", backends.ErrUnavailable)
	case dbusErrorName(err) == errDisconnected || errors.Is(err, dbus.ErrClosed):
		return fmt.Errorf("%w: %s: the session bus connection closed: %v", backends.ErrUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// serviceMissing reports whether the bus said nobody owns the Secret
// Service's name and nothing can be activated for it.
func serviceMissing(err error) bool {
	switch dbusErrorName(err) {
	case errServiceUnknown, errNameHasNoOwner:
		return true
	}
	return false
}

// isGone reports whether err says the object called does not exist (any
// more): services answer a deleted item or collection with any of three
// names.
func isGone(err error) bool {
	switch dbusErrorName(err) {
	case errNoSuchObject, errUnknownObject, errUnknownMethod:
		return true
	}
	return false
}

// dbusErrorName is the D-Bus error name of err, or "".
func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Name
	}
	return ""
}

// noAnswer is a call that ctx ended. It wraps the context's error and never
// ErrUnavailable: a bus or service that is there but slow (or stopped) is
// not "no store", and auto-selection must not pick another store because
// of it.
func noAnswer(what string, ctxErr error) error {
	return fmt.Errorf("%s: no answer in time: %w", what, ctxErr)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
