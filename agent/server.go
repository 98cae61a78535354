package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Keyring is what the agent serves: vault keys it unlocks and decrypts
// with, and cached values. A method that holds no such key or value
// returns an error wrapping ErrLocked; Unlock with the wrong passphrase
// returns ErrBadPassphrase. Byte arguments stay the caller's, who wipes
// them once the method returns. keyring.go's is the agent's own.
type Keyring interface {
	// Unlock opens a vault's identity file with passphrase and keeps the
	// key for ttl, or idle without a decryption when idle > 0.
	Unlock(vaultID string, identityFile, passphrase []byte, ttl, idle time.Duration) error
	// Decrypt decrypts an age file with a vault's key.
	Decrypt(vaultID string, ciphertext []byte) ([]byte, error)
	// Lock forgets every key and value.
	Lock()
	// Status lists the unlocked vaults and the cache keys, never values.
	Status() (vaults []VaultStatus, cached []string)
	// CachePut keeps a copy of value under key for ttl.
	CachePut(key string, value []byte, ttl time.Duration)
	// CacheGet returns a copy of the value under key.
	CacheGet(key string) ([]byte, error)
	// CacheDrop forgets the value under key.
	CacheDrop(key string)
}

// Signer is a Keyring that also signs with a vault's key (XEdDSA: the
// signature a signed shared vault's member writes). A Keyring without it
// answers a sign request as an unknown operation.
type Signer interface {
	Sign(vaultID string, msg []byte) ([]byte, error)
}

// ServeAgent answers the requests read from rw with k until rw ends (nil)
// or fails, a request is malformed (answered, then the error: the stream
// cannot be trusted to be in step after it), or a stop has been answered
// (k is locked first). It knows nothing of sockets: Server adds deadlines,
// the connection cap and stopping the whole agent.
func ServeAgent(k Keyring, rw io.ReadWriter) error {
	var err error
	serve(k, rw, transport{failed: func(e error) { err = e }})
	return err
}

// transport is what a connection adds to the protocol loop; a nil func
// does nothing.
type transport struct {
	read     func() // before a request is read
	received func() // a request was read
	answer   func() // before its answer is written
	// halt, for a stop, writes the answer with answer() when the
	// transport is ready to go; the loop then ends.
	halt   func(answer func() error)
	failed func(error) // the loop ends on this error
	// guard, when set, serves each request: handle answers it from the
	// keyring, and guard may add to the answer or refuse it.
	guard func(req *Request, handle func() Response) Response
}

// serve is ServeAgent's loop; it reports whether it ended in a stop.
func serve(k Keyring, rw io.ReadWriter, t transport) (stopped bool) {
	call := func(f func()) {
		if f != nil {
			f()
		}
	}
	fail := func(err error) bool {
		if t.failed != nil {
			t.failed(err)
		}
		return false
	}
	for {
		call(t.read)
		var req Request
		if err := readMsg(rw, &req); err != nil {
			if errors.Is(err, io.EOF) {
				return false
			}
			writeMsg(rw, Response{V: Version, Error: err.Error(), Code: CodeBadRequest})
			return fail(err)
		}
		call(t.received)
		var resp Response
		if t.guard != nil {
			resp = t.guard(&req, func() Response { return handle(k, &req) })
		} else {
			resp = handle(k, &req)
		}
		wipe(&req)
		call(t.answer)
		if req.Op == OpStop {
			answer := func() error { return writeMsg(rw, resp) }
			if t.halt != nil {
				t.halt(answer)
			} else if err := answer(); err != nil {
				fail(err)
			}
			return true
		}
		err := writeMsg(rw, resp)
		wipe(&resp)
		if err != nil {
			return fail(err)
		}
	}
}

func fail(code Code, format string, args ...any) Response {
	return Response{V: Version, Code: code, Error: fmt.Sprintf(format, args...)}
}

// handle dispatches one request to the keyring.
func handle(k Keyring, req *Request) Response {
	switch req.Op {
	case OpUnlock:
		return unlock(k, req)
	case OpDecrypt:
		plain, err := k.Decrypt(req.VaultID, req.Ciphertext)
		if errors.Is(err, ErrLocked) {
			return fail(CodeLocked, "vault %s is not unlocked in the agent", req.VaultID)
		}
		if err != nil {
			return fail(CodeDecrypt, "%v", err)
		}
		return Response{V: Version, Plaintext: plain}
	case OpSign:
		s, ok := k.(Signer)
		if !ok {
			break
		}
		sig, err := s.Sign(req.VaultID, req.Message)
		if errors.Is(err, ErrLocked) {
			return fail(CodeLocked, "vault %s is not unlocked in the agent", req.VaultID)
		}
		if err != nil {
			return fail(CodeDecrypt, "%v", err)
		}
		return Response{V: Version, Signature: sig}
	case OpLock:
		k.Lock()
		return Response{V: Version}
	case OpStatus:
		st := &Status{PID: os.Getpid()}
		st.Vaults, st.Cached = k.Status()
		return Response{V: Version, Status: st}
	case OpCachePut:
		ttl := time.Duration(req.TTLSeconds) * time.Second
		if ttl <= 0 || ttl > MaxTTL || req.CacheKey == "" {
			return fail(CodeBadRequest, "cache-put needs a key and a ttl between 1s and %v", MaxTTL)
		}
		k.CachePut(req.CacheKey, req.Value, ttl)
		return Response{V: Version}
	case OpCacheGet:
		v, err := k.CacheGet(req.CacheKey)
		if err != nil {
			return fail(CodeLocked, "not cached")
		}
		return Response{V: Version, Plaintext: v}
	case OpCacheDrop:
		k.CacheDrop(req.CacheKey)
		return Response{V: Version}
	case OpSSH:
		return handleSSH(k, req)
	case OpStop:
		k.Lock() // the transport ends once the answer is written
		return Response{V: Version}
	}
	return fail(CodeBadRequest, "unknown operation %q", req.Op)
}

func unlock(k Keyring, req *Request) Response {
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return fail(CodeBadRequest, "ttl must be between 1s and %v", MaxTTL)
	}
	idle := time.Duration(req.IdleSeconds) * time.Second
	if idle < 0 || idle > ttl {
		return fail(CodeBadRequest, "idle timeout must be between 0 and the ttl")
	}
	err := k.Unlock(req.VaultID, req.IdentityFile, req.Passphrase, ttl, idle)
	if errors.Is(err, ErrBadPassphrase) {
		return fail(CodeBadPassphrase, "wrong passphrase")
	}
	if err != nil {
		return fail(CodeBadRequest, "%v", err)
	}
	return Response{V: Version}
}
