package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// memKeyring is a Keyring with no cryptography: "decrypting" returns the
// ciphertext of an unlocked vault.
type memKeyring struct {
	mu     sync.Mutex
	vaults map[string]bool
	cache  map[string][]byte
}

func newMemKeyring() *memKeyring {
	return &memKeyring{vaults: map[string]bool{}, cache: map[string][]byte{}}
}

func (k *memKeyring) Unlock(id string, _, pass []byte, _, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if string(pass) != "pw" {
		return ErrBadPassphrase
	}
	k.vaults[id] = true
	return nil
}

func (k *memKeyring) Decrypt(id string, ct []byte) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.vaults[id] {
		return nil, ErrLocked
	}
	return bytes.Clone(ct), nil
}

func (k *memKeyring) Lock() {
	k.mu.Lock()
	defer k.mu.Unlock()
	clear(k.vaults)
	clear(k.cache)
}

func (k *memKeyring) Status() ([]VaultStatus, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	vs, cached := []VaultStatus{}, []string{}
	for id := range k.vaults {
		vs = append(vs, VaultStatus{ID: id})
	}
	for key := range k.cache {
		cached = append(cached, key)
	}
	return vs, cached
}

func (k *memKeyring) CachePut(key string, v []byte, _ time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cache[key] = bytes.Clone(v)
}

func (k *memKeyring) CacheGet(key string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.cache[key]
	if !ok {
		return nil, ErrLocked
	}
	return bytes.Clone(v), nil
}

func (k *memKeyring) CacheDrop(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cache, key)
}

// pipeStream is one end of two io.Pipes: a stream with no deadlines and
// no socket behind it.
type pipeStream struct {
	io.Reader
	io.WriteCloser
}

func streamPair() (a, b pipeStream) {
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	return pipeStream{ar, aw}, pipeStream{br, bw}
}

// TestServeAgentOverAnyStream: the protocol needs only an io.ReadWriter
// and a Keyring; a stop is answered and ends the loop without an error.
func TestServeAgentOverAnyStream(t *testing.T) {
	k := newMemKeyring()
	a, b := streamPair()
	done := make(chan error, 1)
	go func() { done <- ServeAgent(k, a); a.Close() }()
	c := NewClient(b)
	if _, err := c.Decrypt("v1", []byte("ct")); !errors.Is(err, ErrLocked) {
		t.Fatalf("decrypt before unlock: %v", err)
	}
	if err := c.Unlock("v1", nil, []byte("no"), time.Minute, 0); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("unlock with a wrong passphrase: %v", err)
	}
	if err := c.Unlock("v1", nil, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Decrypt("v1", []byte("ct")); err != nil || string(got) != "ct" {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	if err := c.CachePut("k", []byte("val"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := c.CacheGet("k"); err != nil || string(got) != "val" {
		t.Fatalf("cache get: %q, %v", got, err)
	}
	if st, err := c.Status(); err != nil || len(st.Vaults) != 1 || len(st.Cached) != 1 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ServeAgent after a stop: %v", err)
	}
	if vs, cached := k.Status(); len(vs) != 0 || len(cached) != 0 {
		t.Fatal("a stop left keys in the keyring")
	}
}

// oldAgent answers like an agent of protocol version v: every request of
// another version gets an error in v, then the connection closes; a stop
// in v is answered and reported on stopped.
func oldAgent(t *testing.T, c net.Conn, v int, stopped chan<- bool) {
	defer c.Close()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	var req struct {
		V  int    `json:"v"`
		Op string `json:"op"`
	}
	json.Unmarshal(body, &req)
	answer := map[string]any{"v": v}
	if req.V != v {
		answer["error"], answer["code"] = "agent: protocol version mismatch", CodeBadRequest
	}
	out, _ := json.Marshal(answer)
	c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(out))), out...))
	if req.V == v && req.Op == OpStop {
		stopped <- true
	}
}

// TestStaleAgentIsAVersionError: an agent of another version answers with
// a *VersionError naming both versions, not a transport failure, and
// StopVersion stops it in its own version.
func TestStaleAgentIsAVersionError(t *testing.T) {
	for _, old := range []int{Version - 1, Version + 1} {
		stopped := make(chan bool, 1)
		a, b := net.Pipe()
		go oldAgent(t, a, old, stopped)
		_, err := NewClient(b).Status()
		var ve *VersionError
		var ce *ConnError
		if !errors.As(err, &ve) || ve.Got != old || ve.Want != Version || errors.As(err, &ce) {
			t.Fatalf("status from an agent of version %d: %#v", old, err)
		}
		b.Close()
		a, b = net.Pipe()
		go oldAgent(t, a, old, stopped)
		if err := NewClient(b).StopVersion(ve.Got); err != nil {
			t.Fatalf("stop in version %d: %v", old, err)
		}
		if !<-stopped {
			t.Fatal("not stopped")
		}
	}
	// And the other way round: this agent refuses an older client's request
	// in its own version.
	s := NewServer(Options{})
	a, b := net.Pipe()
	go s.ServeConn(a)
	defer b.Close()
	_, err := NewClient(b).exchange(Request{Op: OpStatus}, Version-1, false)
	var ve *VersionError
	if !errors.As(err, &ve) || ve.Got != Version || ve.Want != Version-1 {
		t.Fatalf("an older client's status: %#v", err)
	}
}
