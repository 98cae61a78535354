package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Options configures a Server.
type Options struct {
	// MaxConns caps open connections (default 128); more wait until one
	// ends.
	MaxConns int
	// RequestTimeout bounds reading one request, and writing its answer: a
	// client that connects and says nothing, or stops reading, is dropped.
	// The work between (an unlock's scrypt) is not bounded by it.
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

// Server answers the protocol's requests from its keyring: it accepts
// connections, reads frames and dispatches them.
type Server struct {
	opts  Options
	ring  *keyring
	slots chan struct{}
	stop  chan struct{}
	once  sync.Once
	// While Serve runs: its listener, whether a client asked it to stop,
	// and that client's connection, which Serve closes last.
	mu       sync.Mutex
	ln       net.Listener
	halting  bool
	stopConn net.Conn
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
	return &Server{opts: opts, ring: newKeyring(opts.Now, opts.LockedMemory), slots: make(chan struct{}, opts.MaxConns), stop: make(chan struct{})}
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
				if s.ring.expire(s.opts.ExitWhenEmpty) {
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
func (s *Server) Wipe() { s.ring.wipe() }

// ServeConn answers requests on one connection until it closes.
func (s *Server) ServeConn(c net.Conn) {
	for {
		c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
		var req Request
		if err := readMsg(c, &req); err != nil {
			if !errors.Is(err, io.EOF) {
				writeMsg(c, Response{V: Version, Error: err.Error(), Code: CodeBadRequest})
			}
			c.Close()
			return
		}
		resp := s.handle(&req)
		wipe(&req)
		// The answer's own deadline: an unlock's scrypt may have taken
		// longer than the whole request timeout on a busy machine.
		c.SetDeadline(time.Now().Add(s.opts.RequestTimeout))
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

func fail(code Code, format string, args ...any) Response {
	return Response{V: Version, Code: code, Error: fmt.Sprintf(format, args...)}
}

// handle dispatches one request to the keyring.
func (s *Server) handle(req *Request) Response {
	s.ring.touch()
	switch req.Op {
	case OpUnlock:
		return s.unlock(req)
	case OpDecrypt:
		plain, err := s.ring.decrypt(req.VaultID, req.Ciphertext)
		if errors.Is(err, errNotHeld) {
			return fail(CodeLocked, "vault %s is not unlocked in the agent", req.VaultID)
		}
		if err != nil {
			return fail(CodeDecrypt, "%v", err)
		}
		return Response{V: Version, Plaintext: plain}
	case OpLock:
		s.ring.wipe()
		return Response{V: Version}
	case OpStatus:
		st := &Status{PID: os.Getpid()}
		st.Vaults, st.Cached = s.ring.status()
		return Response{V: Version, Status: st}
	case OpCachePut:
		ttl := time.Duration(req.TTLSeconds) * time.Second
		if ttl <= 0 || ttl > MaxTTL || req.CacheKey == "" {
			return fail(CodeBadRequest, "cache-put needs a key and a ttl between 1s and %v", MaxTTL)
		}
		s.ring.cachePut(req.CacheKey, req.Value, ttl)
		return Response{V: Version}
	case OpCacheGet:
		v, err := s.ring.cacheGet(req.CacheKey)
		if err != nil {
			return fail(CodeLocked, "not cached")
		}
		return Response{V: Version, Plaintext: v}
	case OpCacheDrop:
		s.ring.cacheDrop(req.CacheKey)
		return Response{V: Version}
	case OpStop:
		s.ring.wipe() // ServeConn ends Serve once the answer is written
		return Response{V: Version}
	}
	return fail(CodeBadRequest, "unknown operation %q", req.Op)
}

func (s *Server) unlock(req *Request) Response {
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
	err := s.ring.unlock(req.VaultID, req.IdentityFile, req.Passphrase, ttl, idle)
	if errors.Is(err, errWrongPassword) {
		return fail(CodeBadPassphrase, "wrong passphrase")
	}
	if err != nil {
		return fail(CodeBadRequest, "%v", err)
	}
	return Response{V: Version}
}
