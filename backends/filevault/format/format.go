// Package format owns the on-disk format of kr's file vault: the names of
// its files, the versions of vault.json, and every parser of what a vault
// holds, each with its limits and its fuzz target (testdata/fuzz keeps
// their corpora):
//
//	vault.json            ParseManifest, Manifest.Marshal, MergeManifest;
//	                      a signed vault's membership chain (Manifest.Chain)
//	secrets/NAME.age      EscapeName and UnescapeName map a name to its path;
//	                      the plaintext starts with a header binding it to
//	                      its name (SecretPlaintext, ParseSecret) and, in a
//	                      signed vault, the writer's signed record
//	                      (SignedPlaintext, ReadSecret); the age
//	                      header carries the recipient record (Record,
//	                      ReadRecord)
//	secrets/DIR/.age-recipients   a scope (ParseScope, FormatScope), signed
//	                      in a # line (ReadScope, SignedScope)
//
// A vault may come from anyone who can push to its repository, so every
// parser here is strict and bounded: it reads only what kr writes, and what
// it accepts, a reviewer's plain tool (encoding/json, age -R) reads the
// same. The package reads and writes bytes only; opening files, checking
// who owns them and encrypting are filevault's. TestCompatibility reads
// the files older kr versions wrote (testdata/compat): a change here must
// keep reading them.
package format

import "github.com/kr-keyring/kr/backends"

// The vault's files, relative to its directory.
const (
	ManifestFile = "vault.json"
	IdentityFile = "identity.age" // the vault's X25519 identity, wrapped by the passphrase
	RecoveryFile = "recovery.age" // the same identity, wrapped by the recovery code
	SecretsDir   = "secrets"
	LockFile     = ".lock"
	SecretExt    = ".age"
	// ScopeFile, in a folder of secrets, narrows who reads the folder.
	ScopeFile = ".age-recipients"
)

// The versions of vault.json. PersonalVersion is the single-user vault,
// with its own identity; SharedVersion is the shared one, which holds none:
// its members read it with their personal identities.
const (
	PersonalVersion = 1
	SharedVersion   = 2
	// SignedVersion is a shared vault whose members sign what they write
	// (signed.go): an older kr refuses it, naming this version.
	SignedVersion = 3
)

const (
	// MaxCiphertext bounds a secret file: a 1 MiB value, its header, age's
	// 16 bytes per 64 KiB chunk and the recipient stanzas, with room to
	// spare.
	MaxCiphertext = backends.MaxValueSize + 256<<10
	// MaxSmallFile bounds vault.json, scope files and the wrapped identities.
	MaxSmallFile = 64 << 10
)

// MaxScryptWorkFactor caps the scrypt work factor (log2 of N) a wrapped
// identity (identity.age, recovery.age) may ask for: a hostile file could
// otherwise make kr compute for hours. 2^20 takes about 4 s and 1 GiB. kr
// and the agent (agent/internal/agecrypto) both open these files, and both
// read the cap from here: a file one of them opens, the other does.
const MaxScryptWorkFactor = 20

// DefaultScryptWorkFactor is the work factor kr wraps new identities with.
const DefaultScryptWorkFactor = 18
