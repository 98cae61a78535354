package agent

import (
	"context"
	"errors"
	"net"
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
	// SSH is the SSH key service the same process runs (package
	// agent/sshagent), or nil: OpSSH reaches it, and a lock, a stop and the
	// idle exit reach its keys too.
	SSH SSHService
	// Approver, when set, is asked before a program's first read after
	// each lock (see Approver); nil serves every read of this user's.
	Approver Approver
	// ApproveTimeout bounds one approval (default DefaultApproveTimeout).
	ApproveTimeout time.Duration
	// Rules, when set, gives the user's standing rules; it is called
	// only when a read would otherwise be asked about.
	Rules func() []Rule
	// Log, when set, receives every read: its name, program and decision.
	Log func(Read)
}

// Server serves the agent's keyring on a listener: each connection it
// accepts runs the protocol (ServeAgent's loop) under the request timeout,
// at most MaxConns at once, and a stop request ends the whole server.
type Server struct {
	opts  Options
	ring  *keyring
	slots chan struct{}
	stop  chan struct{}
	once  sync.Once
	guard *guard
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
	return &Server{opts: opts, ring: newKeyring(opts.Now, opts.LockedMemory), slots: make(chan struct{}, opts.MaxConns), stop: make(chan struct{}), guard: newGuard(opts)}
}

// LockFor forgets every key, value and approval, as kr lock does, and
// notes why (status shows it): the screen locked, the machine is going to
// sleep, the session was switched away from.
func (s *Server) LockFor(reason string) {
	s.keys().Lock()
	s.guard.locked(reason, s.opts.Now())
}

// NoteIgnored counts a lock announcement refused because it did not come
// from the owner of the name it speaks for.
func (s *Server) NoteIgnored() {
	s.guard.mu.Lock()
	defer s.guard.mu.Unlock()
	s.guard.ignored++
}

// SetLockOn records what the agent locks on (on) and, for each event
// chosen but not listened for, why not (off): for status.
func (s *Server) SetLockOn(on, off []string) {
	s.guard.mu.Lock()
	defer s.guard.mu.Unlock()
	s.guard.lockOn, s.guard.noLockOn = on, off
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
				if s.ring.expire(s.opts.ExitWhenEmpty) && (s.opts.SSH == nil || !s.opts.SSH.Held()) {
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
func (s *Server) Wipe() { s.keys().Lock() }

// keys is what connections are served from: the keyring, and the SSH
// keys beside it when there is an SSH service.
func (s *Server) keys() Keyring {
	if s.opts.SSH == nil {
		return s.ring
	}
	return sshRing{s.ring, s.opts.SSH}
}

// ServeConn answers requests on one connection until it closes. Each
// request, and each answer, must go through within the request timeout.
func (s *Server) ServeConn(c net.Conn) {
	deadline := func() { c.SetDeadline(time.Now().Add(s.opts.RequestTimeout)) }
	p := &peer{conn: c, asking: func() {
		// An interim answer: its write error shows again at the answer's.
		deadline()
		writeMsg(c, Response{V: Version, Asking: true})
	}}
	stopped := serve(s.keys(), c, transport{
		guard:    func(req *Request, handle func() Response) Response { return s.serveGuarded(p, req, handle) },
		read:     deadline,
		received: s.ring.touch,
		// The answer's own deadline: an unlock's scrypt may have taken
		// longer than the whole request timeout on a busy machine.
		answer: deadline,
		halt:   func(answer func() error) { s.halt(c, answer) },
	})
	if !stopped {
		c.Close()
	}
}

// halt answers a stop. The socket is removed before the answer goes out,
// and Serve ends only after it (so `kr agent stop` always hears back); the
// connection is closed when Serve returns, so the client, reading to EOF,
// returns when the agent is done.
func (s *Server) halt(c net.Conn, answer func() error) {
	s.mu.Lock()
	s.halting = true
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	answer()
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

// serveGuarded answers one request of peer p's: reads go through the
// guard, locks are noted, and status says what guards the keys.
func (s *Server) serveGuarded(p *peer, req *Request, handle func() Response) Response {
	switch {
	case guarded(req.Op):
		return s.guard.read(p, req, handle)
	case req.Op == OpLock:
		resp := handle()
		s.guard.locked("kr lock", s.opts.Now())
		return resp
	case req.Op == OpStatus:
		resp := handle()
		if resp.Status != nil {
			resp.Status.Guard = s.guard.status()
		}
		return resp
	}
	return handle()
}

// handle answers one request from the server's keyring.
func (s *Server) handle(req *Request) Response {
	s.ring.touch()
	return handle(s.keys(), req)
}
