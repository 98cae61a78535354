package credkit

import (
	"errors"
	"time"
)

// InternetPassword is a Keychain internet password as far as any helper's
// layout uses it.
type InternetPassword struct {
	Protocol string // the Keychain's four-letter code: "htps", "ftp " with its space
	Server   string
	Port     int32 // 0: none
	Path     string
	Account  string
	Label    string
	// Data is the secret; whoever reads it wipes it.
	Data     []byte
	Modified time.Time // zero when writing
}

// ErrDuplicate is Keychain.Add's answer when an item is at that address
// already.
var ErrDuplicate = errors.New("the Keychain holds that item already")

// Keychain is the macOS Keychain's internet passwords. A query is an
// InternetPassword whose set fields must match: the Keychain reads a zero
// port or an empty path as "any", so a layout that means "none" checks
// what it found.
type Keychain interface {
	// Find returns every item matching q, without data; none is not an
	// error.
	Find(q InternetPassword) ([]InternetPassword, error)
	// Read returns the first item matching q, with its data, or
	// ErrNoItem.
	Read(q InternetPassword) (InternetPassword, error)
	// Add writes a new item, with authentication type "dflt" (which
	// docker's helpers before 0.9 search for), or returns ErrDuplicate.
	Add(it InternetPassword) error
	// Update replaces the data of the items matching q.
	Update(q InternetPassword, data []byte) error
	// Delete removes the items matching q, or returns ErrNoItem.
	Delete(q InternetPassword) error
}

// SystemKeychain is this system's Keychain. Without cgo (and off macOS)
// every call fails with an error wrapping backends.ErrUnsupported:
// zalando/go-keyring, kr's Keychain then, reaches only generic passwords.
func SystemKeychain() Keychain { return systemKeychain() }
