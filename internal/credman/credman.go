// Package credman is the little of Windows Credential Manager that kr's
// git and docker layouts use, as an interface: the system's on Windows
// (System), or Credential Manager reached from elsewhere, as kr in WSL
// reaches it through kr.exe (package wslbridge).
package credman

import (
	"errors"
	"time"
)

// Cred is a generic credential, persisted on the local machine.
type Cred struct {
	Target   string
	UserName string
	Comment  string
	Blob     []byte
	// Attrs are the credential's attributes by keyword: git's expiry,
	// docker's label. Never secret.
	Attrs    map[string][]byte
	Modified time.Time // LastWritten; zero when writing
}

// API is Credential Manager's generic credentials of the current user.
type API interface {
	// List returns the credentials whose target starts with prefix (every
	// one for ""), without their blobs.
	List(prefix string) ([]Cred, error)
	// Read returns the credential target, or ErrNotFound.
	Read(target string) (Cred, error)
	// Write creates or replaces the credential c.Target.
	Write(c Cred) error
	// Remove deletes the credential target, or returns ErrNotFound.
	Remove(target string) error
}

// ErrNotFound is a credential that is not there.
var ErrNotFound = errors.New("no such credential")
