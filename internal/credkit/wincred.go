package credkit

import "time"

// GenericCredential is a Credential Manager generic credential as far as
// any helper's layout uses it.
type GenericCredential struct {
	Target   string
	UserName string
	Comment  string
	// Blob is the secret, in whatever encoding the layout chose (GCM's
	// UTF-16LE, docker's raw bytes); whoever reads it wipes it.
	Blob       []byte
	Attributes []Attribute
	Modified   time.Time // LastWritten; zero when writing
}

// Attribute is one of a credential's named values.
type Attribute struct {
	Keyword string
	Value   []byte
}

// Attribute returns the value of the attribute keyword, or nil.
func (c GenericCredential) Attribute(keyword string) []byte {
	for _, a := range c.Attributes {
		if a.Keyword == keyword {
			return a.Value
		}
	}
	return nil
}

// MaxWinCredBlob is Credential Manager's limit on a credential's blob, in
// bytes (CRED_MAX_CREDENTIAL_BLOB_SIZE).
const MaxWinCredBlob = 5 * 512

// CredentialManager is Windows' Credential Manager, its generic
// credentials only.
type CredentialManager interface {
	// List returns the credentials whose target starts with prefix (""
	// for every one), attributes included, without their blobs (wiped).
	List(prefix string) ([]GenericCredential, error)
	// Read returns the generic credential target, or ErrNoItem.
	Read(target string) (GenericCredential, error)
	// Write creates or replaces the generic credential c.Target,
	// persisted on the local machine (as every helper writes them).
	Write(c GenericCredential) error
	// Delete removes the generic credential target, or returns ErrNoItem.
	Delete(target string) error
}

// SystemCredentialManager is this system's Credential Manager; where there
// is none, every call fails with backends.ErrUnsupported.
func SystemCredentialManager() CredentialManager { return systemCredentialManager() }
