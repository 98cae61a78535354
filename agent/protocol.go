// Package agent is kr's per-user cache process: it holds the unlocked
// identity of a file vault for a while, sealed in memory, and decrypts for
// its user's kr commands without ever handing the identity out. The
// protocol runs over any io.ReadWriter; package ipc gives it a connection.
//
// This file holds the messages and their codes: each message is described
// once, by its struct, and frame.go and strict.go derive its encoding,
// decoding and wiping from that. server.go is the protocol loop
// (ServeAgent, over a Keyring and an io.ReadWriter); socket.go serves it
// on a listener (deadlines, the connection cap, stopping); keyring.go
// keeps the keys (expiry, sealing); client.go is the other end. The age
// cryptography the keyring needs is in internal/agecrypto.
package agent

// Version of the protocol; both ends refuse another, with a *VersionError.
// Every version keeps the stop request, {"v":N,"op":"stop"}, so that a kr
// can stop an agent of another version (Client.StopVersion).
const Version = 2

// MaxMessage bounds a message on both ends: a 1 MiB secret file, base64
// encoded in JSON, with room to spare.
const MaxMessage = 4 << 20

// Operations.
const (
	OpUnlock  = "unlock"
	OpDecrypt = "decrypt"
	OpLock    = "lock"
	OpStatus  = "status"
	OpStop    = "stop"
	// OpSign signs a message with a vault's key (a signed shared vault's
	// writes), so the key never leaves the agent to sign either.
	OpSign = "sign"
	// The value cache for OS-store items (`kr unlock --cache NAME...`).
	OpCachePut  = "cache-put"
	OpCacheGet  = "cache-get"
	OpCacheDrop = "cache-drop"
	// OpSSH carries one SSH agent protocol message (Value) to the agent's
	// SSH key service and its answer back (Plaintext): the CLI loads keys
	// over kr's own checked connection, not over a socket any program of
	// this user may have taken the name of.
	OpSSH = "ssh"
)

// Request is one client message. Byte fields travel base64-encoded and are
// wiped once handled; every field needs a json tag (the codec refuses a
// message with an untagged one), and "omitempty" is the only option.
type Request struct {
	V            int    `json:"v"`
	Op           string `json:"op"`
	VaultID      string `json:"vault_id,omitempty"`
	IdentityFile []byte `json:"identity_file,omitempty"`
	Passphrase   []byte `json:"passphrase,omitempty"`
	Ciphertext   []byte `json:"ciphertext,omitempty"`
	TTLSeconds   int64  `json:"ttl_seconds,omitempty"`
	CacheKey     string `json:"cache_key,omitempty"`
	Value        []byte `json:"value,omitempty"`
	IdleSeconds  int64  `json:"idle_seconds,omitempty"`
	Message      []byte `json:"message,omitempty"`
	// Program, on a read, is the absolute path of the program kr exec
	// reads for (and then runs): the agent believes it only from kr.
	Program string `json:"program,omitempty"`
}

// Response answers one Request. A failed request has Error, text for
// people, and Code, which is what the client acts on.
type Response struct {
	V         int     `json:"v"`
	Error     string  `json:"error,omitempty"`
	Code      Code    `json:"code,omitempty"`
	Plaintext []byte  `json:"plaintext,omitempty"`
	Status    *Status `json:"status,omitempty"`
	Signature []byte  `json:"signature,omitempty"`
	// Asking is an interim answer to a read: the agent is about to wait
	// for a person (its dialog, or another read's dialog before it), and
	// the answer proper follows. Only then may the client wait longer than
	// for any other answer.
	Asking bool `json:"asking,omitempty"`
}

// Code says why a request failed. The server sends these and the client
// reads them (it turns the first two into ErrLocked and ErrBadPassphrase);
// a code it does not know is an error like any other.
type Code string

const (
	// CodeLocked: the vault is not unlocked, or the value not cached (never
	// put, expired, dropped, or locked while the request was served).
	CodeLocked Code = "locked"
	// CodeBadPassphrase: the passphrase does not open the identity file.
	CodeBadPassphrase Code = "bad-passphrase"
	// CodeBadRequest: the agent refuses the request itself: a malformed or
	// oversized frame, an unknown operation, a ttl out of range, an
	// identity file that is damaged or not the vault's.
	CodeBadRequest Code = "bad-request"
	// CodeDecrypt: the ciphertext does not decrypt with the vault's key, or
	// its plaintext does not fit in an answer.
	CodeDecrypt Code = "decrypt"
	// CodeDenied: the user did not allow the requesting program to read
	// (denied, dismissed, or no dialog could be shown or was answered).
	CodeDenied Code = "denied"
)

// Status describes the agent; it never holds key material.
type Status struct {
	PID    int           `json:"pid"`
	Vaults []VaultStatus `json:"vaults"`
	Cached []string      `json:"cached"` // cache keys, never values
	Guard  *GuardStatus  `json:"guard,omitempty"`
}

// GuardStatus is what guards the keys: what locks the agent, the last
// lock, and whether reads are asked about.
type GuardStatus struct {
	// LockOn lists the events the agent locks on and listens for now
	// ("screen", "sleep", "session"); NoLockOn says why one chosen is not
	// listened for (no session bus, say).
	LockOn   []string `json:"lock_on"`
	NoLockOn []string `json:"no_lock_on,omitempty"`
	// LockedAt (RFC 3339) and LockReason: the last lock, and what did it.
	LockedAt   string `json:"locked_at,omitempty"`
	LockReason string `json:"lock_reason,omitempty"`
	// Confirm: a program's first read after an unlock is asked about.
	Confirm bool `json:"confirm"`
	// Allowed lists the programs allowed until the next lock.
	Allowed []string `json:"allowed,omitempty"`
	// Ignored counts lock announcements refused because they did not
	// come from the owner of the name they speak for.
	Ignored int `json:"ignored,omitempty"`
}

// VaultStatus is one vault the agent holds unlocked, or (Locked set) one
// it held and no longer does.
type VaultStatus struct {
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at,omitempty"` // RFC 3339
	IdleUntil string `json:"idle_until,omitempty"`
	// Locked says why the key went: "expired" or "locked"; LockedAt when.
	Locked   string `json:"locked,omitempty"`
	LockedAt string `json:"locked_at,omitempty"` // RFC 3339
}

// guarded reports whether op uses an unlocked key or a value for its
// client: a read or a signature. The guard asks about and logs exactly
// these, and only their answers may be preceded by an "asking" one.
func guarded(op string) bool { return op == OpDecrypt || op == OpCacheGet || op == OpSign }
