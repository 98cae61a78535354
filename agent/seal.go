package agent

import (
	"errors"

	"github.com/awnumar/memguard"
)

var errDestroyed = errors.New("key was wiped")

// sealed holds a key at rest; open lends it out for one operation.
type sealed interface {
	open(func(key []byte) error) error
	destroy()
}

// enclaveKey keeps a key encrypted in memory (memguard's Enclave) and
// decrypts it into a locked, guarded buffer only while in use.
type enclaveKey struct{ e *memguard.Enclave }

func (k *enclaveKey) open(f func([]byte) error) error {
	if k.e == nil {
		return errDestroyed
	}
	b, err := k.e.Open()
	if err != nil {
		return err
	}
	defer b.Destroy()
	return f(b.Bytes())
}

func (k *enclaveKey) destroy() { k.e = nil }

// plainKey is the fallback when memory cannot be locked (a low
// RLIMIT_MEMLOCK, a Windows working-set quota): memguard would panic, so
// the key is kept in an ordinary buffer, wiped on destroy.
type plainKey struct{ b []byte }

func (k *plainKey) open(f func([]byte) error) error { return f(k.b) }
func (k *plainKey) destroy()                        { wipe(k.b) }

// sealKey takes ownership of key (wiping the caller's copy).
func sealKey(key []byte, locked bool) sealed {
	if locked && len(key) > 0 { // memguard refuses empty buffers
		return &enclaveKey{memguard.NewEnclave(key)} // NewEnclave wipes key
	}
	k := &plainKey{b: append([]byte(nil), key...)}
	wipe(key)
	return k
}
