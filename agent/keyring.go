package agent

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/agent/internal/agecrypto"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/xeddsa"
)

// TTL limits.
const (
	DefaultTTL = 15 * time.Minute
	MaxTTL     = 24 * time.Hour
)

// maxPlaintext bounds a decryption, so that its answer fits in a frame
// (base64 and the other members included).
const maxPlaintext = MaxMessage / 2

// keyring is the agent's Keyring: it holds the unlocked vault keys and
// the cached OS-store values, each sealed (seal.go) and wiped when it
// expires, is replaced, dropped or locked. It knows nothing of connections
// or frames: the protocol's handlers call it.
type keyring struct {
	now    func() time.Time
	locked bool // whether sealed keys are locked in memory
	// open unwraps an identity file (agecrypto.OpenIdentityFile). One
	// runs at a time: each takes scrypt's buffer (256 MiB at the vault's
	// work factor), and two at once would only share the CPU.
	open    func(identityFile, pass []byte) ([]byte, error)
	opening sync.Mutex

	mu     sync.Mutex
	vaults map[string]*entry // vault keys by vault id
	cache  map[string]*entry // OS-store values by backend, service and name
	gone   map[string]gone   // vaults unlocked once and locked since, for status
	last   time.Time         // the last request, or when the last key went
}

// gone is when and why a vault's key went: "expired" (its ttl or idle
// time ran out) or "locked" (kr lock, a stop). It holds no key.
type gone struct {
	at  time.Time // wall clock
	why string
}

// entry is one thing the keyring holds until it expires: a vault's key or
// a cached OS-store value, sealed either way.
type entry struct {
	sealed  sealed
	pub     []byte
	expires time.Time // monotonic reading: time in process
	wallExp time.Time // wall clock: also counts time in suspend
	idle    time.Duration
	idleEnd time.Time
}

var _ Keyring = (*keyring)(nil)

func newKeyring(now func() time.Time, lockedMemory bool) *keyring {
	return &keyring{now: now, locked: lockedMemory, open: agecrypto.OpenIdentityFile, vaults: map[string]*entry{}, cache: map[string]*entry{}, gone: map[string]gone{}}
}

// expiredAt is when an expired entry went, as far as the wall clock
// says: its ttl's end, else now (an idle timeout, or suspend).
func (e *entry) expiredAt(now time.Time) time.Time {
	if wall := now.Round(0); !wall.Before(e.wallExp) {
		return e.wallExp
	}
	return now.Round(0)
}

func (e *entry) expired(now time.Time) bool {
	if !now.Before(e.expires) || !now.Round(0).Before(e.wallExp) {
		return true
	}
	return e.idle > 0 && !now.Before(e.idleEnd)
}

// touch records a request, for expire's idle check.
func (k *keyring) touch() {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.last = now
}

// Lock forgets every key and value.
func (k *keyring) Lock() {
	now := k.now().Round(0)
	k.mu.Lock()
	defer k.mu.Unlock()
	for id := range k.vaults {
		k.gone[id] = gone{at: now, why: "locked"}
	}
	for _, m := range []map[string]*entry{k.vaults, k.cache} {
		for id, e := range m {
			e.sealed.destroy()
			delete(m, id)
		}
	}
}

// expire wipes expired keys and values and reports whether the keyring
// has been empty and unused for longer than idle.
func (k *keyring) expire(idle time.Duration) bool {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.last.IsZero() {
		k.last = now
	}
	for id, e := range k.vaults {
		if e.expired(now) {
			k.dropExpired(id, e, now)
			k.last = now
		}
	}
	for id, e := range k.cache {
		if e.expired(now) {
			e.sealed.destroy()
			delete(k.cache, id)
			k.last = now
		}
	}
	return len(k.vaults) == 0 && len(k.cache) == 0 && now.Sub(k.last) > idle
}

// Unlock opens a vault's identity file with pass and keeps its key for
// ttl, or idle without a decryption when idle > 0. The key must be the
// vault's. identityFile and pass stay the caller's to wipe.
func (k *keyring) Unlock(vaultID string, identityFile, pass []byte, ttl, idle time.Duration) error {
	k.opening.Lock()
	plain, err := k.open(identityFile, pass)
	k.opening.Unlock()
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return ErrBadPassphrase
		}
		return fmt.Errorf("identity file: %v", err)
	}
	scalar, err := agecrypto.ParseIdentity(plain)
	clear(plain)
	if err != nil {
		return err
	}
	id, pub, err := agecrypto.Recipient(scalar)
	if err != nil || id != vaultID {
		clear(scalar)
		return fmt.Errorf("the identity does not belong to vault %s", vaultID)
	}
	now := k.now()
	k.put(k.vaults, id, &entry{sealed: sealKey(scalar, k.locked), pub: pub,
		expires: now.Add(ttl), wallExp: now.Round(0).Add(ttl), idle: idle, idleEnd: now.Add(idle)})
	return nil
}

// Decrypt decrypts an age file with a vault's key: ErrLocked if the vault
// is not unlocked (or was locked meanwhile).
func (k *keyring) Decrypt(vaultID string, ciphertext []byte) ([]byte, error) {
	e := k.live(k.vaults, vaultID)
	if e == nil {
		return nil, ErrLocked
	}
	var plain []byte
	err := e.sealed.open(func(scalar []byte) error {
		r, err := age.Decrypt(bytes.NewReader(ciphertext), agecrypto.NewX25519Identity(scalar, e.pub))
		if err != nil {
			return err
		}
		plain, err = limitio.Read(r, "plaintext", maxPlaintext)
		return err
	})
	if errors.Is(err, errDestroyed) {
		return nil, ErrLocked
	}
	if err != nil {
		return nil, fmt.Errorf("decrypt: %v", err)
	}
	return plain, nil
}

// Sign signs msg with a vault's key (xeddsa): ErrLocked if the vault is
// not unlocked.
func (k *keyring) Sign(vaultID string, msg []byte) ([]byte, error) {
	e := k.live(k.vaults, vaultID)
	if e == nil {
		return nil, ErrLocked
	}
	var sig []byte
	err := e.sealed.open(func(scalar []byte) (err error) {
		sig, err = xeddsa.Sign(scalar, msg)
		return err
	})
	if errors.Is(err, errDestroyed) {
		return nil, ErrLocked
	}
	return sig, err
}

// CachePut keeps a copy of value under key for ttl.
func (k *keyring) CachePut(key string, value []byte, ttl time.Duration) {
	now := k.now()
	k.put(k.cache, key, &entry{sealed: sealKey(bytes.Clone(value), k.locked), expires: now.Add(ttl), wallExp: now.Round(0).Add(ttl)})
}

// CacheGet returns a copy of the value under key, or ErrLocked.
func (k *keyring) CacheGet(key string) ([]byte, error) {
	e := k.live(k.cache, key)
	if e == nil {
		return nil, ErrLocked
	}
	var v []byte
	if err := e.sealed.open(func(b []byte) error { v = bytes.Clone(b); return nil }); err != nil {
		return nil, ErrLocked // dropped or expired meanwhile
	}
	return v, nil
}

// CacheDrop forgets the value under key.
func (k *keyring) CacheDrop(key string) { k.put(k.cache, key, nil) }

// put stores e under id in m (nil removes), wiping what was there.
func (k *keyring) put(m map[string]*entry, id string, e *entry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.gone, id) // a vault unlocked again is no longer gone
	if old := m[id]; old != nil {
		old.sealed.destroy()
	}
	if e == nil {
		delete(m, id)
	} else {
		m[id] = e
	}
}

// live returns the unexpired entry under id in m, wiping an expired one,
// and restarts its idle timer.
func (k *keyring) live(m map[string]*entry, id string) *entry {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	e := m[id]
	if e != nil && e.expired(now) {
		if _, vault := k.vaults[id]; vault && e == k.vaults[id] {
			k.dropExpired(id, e, now)
		} else {
			e.sealed.destroy()
			delete(m, id)
		}
		return nil
	}
	if e != nil && e.idle > 0 {
		e.idleEnd = now.Add(e.idle)
	}
	return e
}

// dropExpired wipes a vault's expired key and remembers it as gone, so
// that status can say when it expired.
func (k *keyring) dropExpired(id string, e *entry, now time.Time) {
	k.gone[id] = gone{at: e.expiredAt(now), why: "expired"}
	e.sealed.destroy()
	delete(k.vaults, id)
}

// Status lists the unlocked vaults and the cache keys (never values),
// expired ones left out, and then the vaults locked since they were
// unlocked, with when and why (Locked set).
func (k *keyring) Status() (vaults []VaultStatus, cached []string) {
	now := k.now()
	vaults, cached = []VaultStatus{}, []string{}
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, e := range k.vaults {
		if e.expired(now) {
			k.dropExpired(id, e, now)
			continue
		}
		vs := VaultStatus{ID: id, ExpiresAt: e.wallExp.Format(time.RFC3339)}
		if e.idle > 0 {
			vs.IdleUntil = now.Round(0).Add(e.idleEnd.Sub(now)).Format(time.RFC3339)
		}
		vaults = append(vaults, vs)
	}
	for id, g := range k.gone {
		vaults = append(vaults, VaultStatus{ID: id, Locked: g.why, LockedAt: g.at.Format(time.RFC3339)})
	}
	sort.Slice(vaults, func(i, j int) bool { return vaults[i].ID < vaults[j].ID })
	for key, e := range k.cache {
		if !e.expired(now) {
			cached = append(cached, key)
		}
	}
	sort.Strings(cached)
	return vaults, cached
}
