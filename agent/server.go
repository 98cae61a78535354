package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"syscall"
	"time"

	"filippo.io/age"
)

// TTL limits.
const (
	DefaultTTL = 15 * time.Minute
	MaxTTL     = 24 * time.Hour
)

// Options configures a Server.
type Options struct {
	// MaxConns caps open connections (default 128); more wait until one
	// ends.
	MaxConns int
	// RequestTimeout bounds reading one request and writing its answer:
	// a client that connects and says nothing is dropped.
	RequestTimeout time.Duration
	// LockedMemory says whether memory can be locked (see Harden); without
	// it keys are kept in ordinary buffers.
	LockedMemory bool
	// Now is the clock, for tests.
	Now func() time.Time
	// ExitWhenEmpty ends Serve after this long with no key held and no
	// request, so an agent nobody uses does not linger; 0 means 10m.
	ExitWhenEmpty time.Duration
}

// Server holds unlocked vault identities.
type Server struct {
	opts  Options
	mu    sync.Mutex
	keys  map[string]*entry
	cache map[string]*entry // OS-store values by backend, service and name
	last  time.Time         // the last request, or when the last key went
	slots chan struct{}
	stop  chan struct{}
	once  sync.Once
	// While Serve runs: its listener, whether a client asked it to stop,
	// and that client's connection, which Serve closes last.
	ln       net.Listener
	halting  bool
	stopConn net.Conn
}

type entry struct {
	key     sealed
	pub     []byte
	expires time.Time // monotonic reading: time in process
	wallExp time.Time // wall clock: also counts time in suspend
	idle    time.Duration
	idleEnd time.Time
}

// NewServer returns a Server with no vault unlocked.
func NewServer(opts Options) *Server {
	if opts.MaxConns == 0 {
		opts.MaxConns = 128
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ExitWhenEmpty == 0 {
		opts.ExitWhenEmpty = 10 * time.Minute
	}
	return &Server{opts: opts, keys: map[string]*entry{}, cache: map[string]*entry{}, slots: make(chan struct{}, opts.MaxConns), stop: make(chan struct{})}
}

// Serve accepts connections until ctx ends, a client asks it to stop, or
// the listener fails. Expired keys are wiped every second. At MaxConns
// open connections it accepts no more until one ends: clients over the cap
// wait in the listen backlog, they are not refused.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.ln = l
	s.mu.Unlock()
	defer func() {
		l.Close() // before returning: the socket goes with the agent
		s.mu.Lock()
		c := s.stopConn
		s.ln, s.stopConn = nil, nil
		s.mu.Unlock()
		if c != nil {
			c.Close() // last: the client that stopped us hears EOF only now
		}
	}()
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		l.Close()
	}()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if s.expire() {
					s.once.Do(func() { close(s.stop) })
				}
			}
		}
	}()
	backoff := time.Millisecond
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		c, err := l.Accept()
		if err != nil {
			<-s.slots
			select {
			case <-s.stop:
				return nil
			default:
			}
			if ctx.Err() != nil {
				return nil
			}
			if s.stopping() {
				<-s.stop // the answer to stop is being written
				return nil
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors: connections that end free some.
				time.Sleep(backoff)
				backoff = min(2*backoff, time.Second)
				continue
			}
			return err
		}
		backoff = time.Millisecond
		go func() {
			defer func() { <-s.slots }()
			s.ServeConn(c)
		}()
	}
}

func (s *Server) stopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.halting
}

// Wipe forgets every key.
func (s *Server) Wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.keys {
		e.key.destroy()
		delete(s.keys, id)
	}
	for k, e := range s.cache {
		e.key.destroy()
		delete(s.cache, k)
	}
}

// expire wipes expired keys and reports whether the agent has been empty
// and unused for ExitWhenEmpty.
func (s *Server) expire() (idle bool) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.IsZero() {
		s.last = now
	}
	for _, m := range []map[string]*entry{s.keys, s.cache} {
		for id, e := range m {
			if e.expired(now) {
				e.key.destroy()
				delete(m, id)
				s.last = now
			}
		}
	}
	return len(s.keys) == 0 && len(s.cache) == 0 && now.Sub(s.last) > s.opts.ExitWhenEmpty
}

func (e *entry) expired(now time.Time) bool {
	if !now.Before(e.expires) || !now.Round(0).Before(e.wallExp) {
		return true
	}
	return e.idle > 0 && !now.Before(e.idleEnd)
}

// ServeConn answers requests on one connection until it closes.
func (s *Server) ServeConn(c net.Conn) {
	for {
		c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
		var req Request
		if err := readMsg(c, &req); err != nil {
			if !errors.Is(err, io.EOF) {
				writeMsg(c, Response{V: Version, Error: err.Error(), Code: "bad-request"})
			}
			c.Close()
			return
		}
		resp := s.handle(&req)
		clear(req.Passphrase)
		clear(req.IdentityFile)
		if req.Op == OpStop {
			s.halt(c, resp)
			return
		}
		err := writeMsg(c, resp)
		clear(resp.Plaintext)
		if err != nil {
			c.Close()
			return
		}
	}
}

// halt answers a stop. The socket is removed before the answer goes out,
// and Serve ends only after it (so `kr agent stop` always hears back); the
// connection is closed when Serve returns, so the client, reading to EOF,
// returns when the agent is done.
func (s *Server) halt(c net.Conn, resp Response) {
	s.mu.Lock()
	s.halting = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	writeMsg(c, resp)
	s.mu.Lock()
	keep := s.ln != nil
	if keep {
		s.stopConn = c
	}
	s.mu.Unlock()
	s.once.Do(func() { close(s.stop) })
	if !keep {
		c.Close() // no Serve running (or it already returned)
	}
}

func fail(code, format string, args ...any) Response {
	return Response{V: Version, Code: code, Error: fmt.Sprintf(format, args...)}
}

func (s *Server) handle(req *Request) Response {
	s.mu.Lock()
	s.last = s.opts.Now()
	s.mu.Unlock()
	switch req.Op {
	case OpUnlock:
		return s.unlock(req)
	case OpDecrypt:
		return s.decrypt(req)
	case OpLock:
		s.Wipe()
		return Response{V: Version}
	case OpStatus:
		return Response{V: Version, Status: s.status()}
	case OpCachePut:
		ttl := time.Duration(req.TTLSeconds) * time.Second
		if ttl <= 0 || ttl > MaxTTL || req.CacheKey == "" {
			return fail("bad-request", "cache-put needs a key and a ttl between 1s and %v", MaxTTL)
		}
		now := s.opts.Now()
		e := &entry{key: sealKey(bytes.Clone(req.Value), s.opts.LockedMemory), expires: now.Add(ttl), wallExp: now.Round(0).Add(ttl)}
		clear(req.Value)
		s.put(s.cache, req.CacheKey, e)
		return Response{V: Version}
	case OpCacheGet:
		e := s.live(s.cache, req.CacheKey, s.opts.Now())
		if e == nil {
			return fail("locked", "not cached")
		}
		var v []byte
		if err := e.key.open(func(b []byte) error { v = bytes.Clone(b); return nil }); err != nil {
			return fail("locked", "not cached") // dropped or expired meanwhile
		}
		return Response{V: Version, Plaintext: v}
	case OpCacheDrop:
		s.put(s.cache, req.CacheKey, nil)
		return Response{V: Version}
	case OpStop:
		s.Wipe() // ServeConn ends Serve once the answer is written
		return Response{V: Version}
	}
	return fail("bad-request", "unknown operation %q", req.Op)
}

func (s *Server) unlock(req *Request) Response {
	ttl := time.Duration(req.TTLSeconds) * time.Second
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return fail("bad-request", "ttl must be between 1s and %v", MaxTTL)
	}
	idle := time.Duration(req.IdleSeconds) * time.Second
	if idle < 0 || idle > ttl {
		return fail("bad-request", "idle timeout must be between 0 and the ttl")
	}
	plain, err := openIdentityFile(req.IdentityFile, req.Passphrase)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return fail("bad-passphrase", "wrong passphrase")
		}
		return fail("bad-request", "identity file: %v", err)
	}
	scalar, err := parseIdentityFile(plain)
	clear(plain)
	if err != nil {
		return fail("bad-request", "%v", err)
	}
	id, pub, err := recipientOf(scalar)
	if err != nil || id != req.VaultID {
		clear(scalar)
		return fail("bad-request", "the identity does not belong to vault %s", req.VaultID)
	}
	now := s.opts.Now()
	e := &entry{key: sealKey(scalar, s.opts.LockedMemory), pub: pub,
		expires: now.Add(ttl), wallExp: now.Round(0).Add(ttl), idle: idle, idleEnd: now.Add(idle)}
	s.put(s.keys, id, e)
	return Response{V: Version}
}

// put stores e under k in m (nil removes), wiping what was there.
func (s *Server) put(m map[string]*entry, k string, e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := m[k]; old != nil {
		old.key.destroy()
	}
	if e == nil {
		delete(m, k)
	} else {
		m[k] = e
	}
}

// live returns the unexpired entry under k in m, wiping an expired one,
// and restarts its idle timer.
func (s *Server) live(m map[string]*entry, k string, now time.Time) *entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := m[k]
	if e != nil && e.expired(now) {
		e.key.destroy()
		delete(m, k)
		return nil
	}
	if e != nil && e.idle > 0 {
		e.idleEnd = now.Add(e.idle)
	}
	return e
}

func (s *Server) decrypt(req *Request) Response {
	e := s.live(s.keys, req.VaultID, s.opts.Now())
	if e == nil {
		return fail("locked", "vault %s is not unlocked in the agent", req.VaultID)
	}
	var plain []byte
	err := e.key.open(func(scalar []byte) error {
		r, err := age.Decrypt(bytes.NewReader(req.Ciphertext), &x25519Identity{scalar: scalar, pub: e.pub})
		if err != nil {
			return err
		}
		plain, err = io.ReadAll(io.LimitReader(r, MaxMessage/2))
		return err
	})
	if errors.Is(err, errDestroyed) {
		return fail("locked", "vault %s is not unlocked in the agent", req.VaultID) // locked meanwhile
	}
	if err != nil {
		clear(plain)
		return fail("decrypt", "decrypt: %v", err)
	}
	return Response{V: Version, Plaintext: plain}
}

func (s *Server) status() *Status {
	now := s.opts.Now()
	st := &Status{PID: os.Getpid(), Vaults: []VaultStatus{}}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, e := range s.keys {
		if e.expired(now) {
			continue
		}
		vs := VaultStatus{ID: id, ExpiresAt: e.wallExp.Format(time.RFC3339)}
		if e.idle > 0 {
			vs.IdleUntil = now.Round(0).Add(e.idleEnd.Sub(now)).Format(time.RFC3339)
		}
		st.Vaults = append(st.Vaults, vs)
	}
	st.Cached = []string{}
	for k, e := range s.cache {
		if !e.expired(now) {
			st.Cached = append(st.Cached, k)
		}
	}
	sort.Strings(st.Cached)
	return st
}
