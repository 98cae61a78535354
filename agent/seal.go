package agent

import (
	"crypto/rand"
	"errors"
	"sync"
)

var errDestroyed = errors.New("key was wiped")

// sealed holds a key at rest; open lends it out for one operation.
type sealed interface {
	open(func(key []byte) error) error
	destroy()
}

// splitKey keeps a key as two shares, a random pad and key XOR pad, each on
// pages of its own outside the Go heap, locked in memory (no swap) where
// the OS allows it. No buffer ever holds the key at rest; it exists in
// clear only while open, in such a buffer, wiped and unmapped right after.
//
// This replaces memguard's Enclave, which gives the same at-rest property:
// memguard's package init sets RLIMIT_CORE to 0, hard limit included, in
// every process that links it, and kr's agent shares its binary with the
// CLI, whose `kr exec` children would inherit that.
type splitKey struct {
	// mu lets lock or expiry wait for a decryption in progress instead of
	// wiping the shares under it.
	mu          sync.RWMutex
	pad, masked []byte
	free        []func()
	locked      bool
}

func (k *splitKey) open(f func([]byte) error) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.free == nil {
		return errDestroyed
	}
	clear, release := secureAlloc(len(k.pad), k.locked)
	defer release()
	for i := range clear {
		clear[i] = k.masked[i] ^ k.pad[i]
	}
	return f(clear)
}

func (k *splitKey) destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, free := range k.free {
		free()
	}
	k.pad, k.masked, k.free = nil, nil, nil
}

// sealKey takes ownership of key (wiping the caller's copy). With locked
// false (mlock refused) the shares are not locked in memory.
func sealKey(key []byte, locked bool) sealed {
	k := &splitKey{locked: locked}
	var freePad, freeMasked func()
	k.pad, freePad = secureAlloc(len(key), locked)
	k.masked, freeMasked = secureAlloc(len(key), locked)
	k.free = []func(){freePad, freeMasked}
	if _, err := rand.Read(k.pad); err != nil {
		panic("agent: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported systems
	}
	for i := range key {
		k.masked[i] = key[i] ^ k.pad[i]
	}
	clear(key)
	return k
}

// Sealed is a key held as sealKey holds a vault's, for the agent's other
// services (the SSH keys of agent/sshagent).
type Sealed struct{ s sealed }

// Seal takes ownership of key, wiping the caller's copy; locked says
// whether its pages may be locked in memory (Harden's answer).
func Seal(key []byte, locked bool) *Sealed { return &Sealed{sealKey(key, locked)} }

// Open lends the key to f for one operation; the buffer is wiped after.
// A destroyed key is an error.
func (k *Sealed) Open(f func(key []byte) error) error { return k.s.open(f) }

// Destroy wipes the key.
func (k *Sealed) Destroy() { k.s.destroy() }
