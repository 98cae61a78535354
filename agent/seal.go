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

// splitKey keeps a key as two shares, a random pad and key XOR pad, each in
// its own buffer, locked in memory (no swap) where the OS allows it. No
// buffer ever holds the key at rest; it exists in clear only while open,
// in a locked buffer wiped right after.
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
	locked      bool
}

func (k *splitKey) open(f func([]byte) error) error {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.pad == nil {
		return errDestroyed
	}
	clear := make([]byte, len(k.pad))
	if k.locked {
		lockMemory(clear)
	}
	defer func() {
		wipe(clear)
		if k.locked {
			unlockMemory(clear)
		}
	}()
	for i := range clear {
		clear[i] = k.masked[i] ^ k.pad[i]
	}
	return f(clear)
}

func (k *splitKey) destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	wipe(k.pad)
	wipe(k.masked)
	if k.locked {
		unlockMemory(k.pad)
		unlockMemory(k.masked)
	}
	k.pad, k.masked = nil, nil
}

// sealKey takes ownership of key (wiping the caller's copy). With locked
// false (mlock refused) the shares are kept in ordinary memory.
func sealKey(key []byte, locked bool) sealed {
	k := &splitKey{pad: make([]byte, len(key)), masked: make([]byte, len(key)), locked: locked && len(key) > 0}
	if k.locked {
		lockMemory(k.pad)
		lockMemory(k.masked)
	}
	if _, err := rand.Read(k.pad); err != nil {
		panic("agent: crypto/rand failed: " + err.Error()) // crypto/rand never fails on supported systems
	}
	for i := range key {
		k.masked[i] = key[i] ^ k.pad[i]
	}
	wipe(key)
	return k
}
