// Package agent is kr's per-user cache process: it holds the unlocked
// identity of a file vault for a while, sealed in memory, and decrypts for
// its user's kr commands without ever handing the identity out. The
// protocol runs over any io.ReadWriter; package ipc gives it a connection.
package agent

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version of the protocol; both ends refuse another.
const Version = 1

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
	// The value cache for OS-store items (`kr unlock --cache NAME...`).
	OpCachePut  = "cache-put"
	OpCacheGet  = "cache-get"
	OpCacheDrop = "cache-drop"
)

// Request is one client message. Byte fields travel base64-encoded.
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
}

// Response answers one Request.
type Response struct {
	V         int     `json:"v"`
	Error     string  `json:"error,omitempty"`
	Code      string  `json:"code,omitempty"` // "locked", "bad-passphrase", "bad-request"
	Plaintext []byte  `json:"plaintext,omitempty"`
	Status    *Status `json:"status,omitempty"`
}

// Status describes the agent; it never holds key material.
type Status struct {
	PID    int           `json:"pid"`
	Vaults []VaultStatus `json:"vaults"`
	Cached []string      `json:"cached"` // cache keys, never values
}

// VaultStatus is one unlocked vault.
type VaultStatus struct {
	ID        string `json:"id"`
	ExpiresAt string `json:"expires_at"` // RFC 3339
	IdleUntil string `json:"idle_until,omitempty"`
}

var errTooBig = errors.New("agent: message too large")

// writeMsg sends v as one length-prefixed message.
func writeMsg(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	defer clear(body)
	if len(body) == 0 || len(body) > MaxMessage {
		return errTooBig
	}
	buf := make([]byte, 4+len(body))
	defer clear(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

// readMsg reads one message into v, refusing empty and oversized ones.
func readMsg(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return errors.New("agent: empty message")
	}
	if n > MaxMessage {
		return errTooBig
	}
	// A header alone does not buy a large buffer: the full size is
	// allocated once the first part of the body has arrived, and the
	// first part is wiped after the copy (it may hold a passphrase).
	const first = 64 << 10
	body := make([]byte, min(n, first))
	if _, err := io.ReadFull(r, body); err != nil {
		clear(body)
		return err
	}
	if n > first {
		full := make([]byte, n)
		copy(full, body)
		clear(body)
		body = full
		if _, err := io.ReadFull(r, body[first:]); err != nil {
			clear(body)
			return err
		}
	}
	defer clear(body)
	return decode(body, v)
}

// decode parses a message body strictly.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("agent: malformed message: %w", err)
	}
	var ver int
	switch m := v.(type) {
	case *Request:
		ver = m.V
	case *Response:
		ver = m.V
	}
	if ver != Version {
		return fmt.Errorf("agent: protocol version %d, want %d", ver, Version)
	}
	return nil
}
