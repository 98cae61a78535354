// Package sshagent is the SSH key service of kr's agent: it holds SSH
// private keys sealed as the agent holds vault keys, and serves OpenSSH's
// agent protocol (proto.go) on a socket of its own
// beside the agent's, and over the agent's own connection (agent.OpSSH) for
// the CLI, which is how keys kept in kr's stores arrive: the service never
// opens a path or loads code because a client asked.
//
// It is a package of its own so that the agent's protocol and the
// commands that never touch SSH keys do not depend on it. It speaks SSH's
// formats through internal/sshwire, not golang.org/x/crypto/ssh, whose
// package init would run at every start of the kr binary.
package sshagent

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/kr-keyring/kr/agent"
)

// Private-use constraint and extension names, accepted only over kr's own
// connection (Handle), never from the SSH socket.
const (
	// ttlConstraint (details: uint32 seconds): the private key is wiped
	// after this long while its public key stays listed, as after a lock.
	ttlConstraint = "kr-ttl@kr-keyring.github.io"
	// socketExtension answers with the path or pipe the service listens on.
	socketExtension = "kr-socket@kr-keyring.github.io"
)

// Errors a refused request carries (the client hears SSH_AGENT_FAILURE).
var (
	errLocked   = errors.New("kr's agent is locked: run kr unlock")
	errPassLock = errors.New("the agent is locked with ssh-add -x")
	errNoKey    = errors.New("no such key")
	errDenied   = errors.New("use of the key was not confirmed")
)

// Options configures a Service.
type Options struct {
	// LockedMemory: whether sealed keys may be locked in memory
	// (agent.Harden's answer).
	LockedMemory bool
	// Confirm asks the user before a key added with confirm is used. Nil
	// denies every such use.
	Confirm Confirmer
	// Now is the clock, for tests.
	Now func() time.Time
	// Guard, when set, is asked before every signature: peer is the SSH
	// client's connection (nil over kr's own), key names the key. An
	// error refuses the signature. The agent's read guard asks the user
	// and logs through it.
	Guard func(peer net.Conn, key string) error
}

// Service holds the SSH keys. It implements agent.SSHService.
type Service struct {
	opts Options

	mu   sync.Mutex
	keys []*key // in the order they were added, as ssh-agent lists them
	// pass is set while the agent is locked by SSH_AGENTC_LOCK (ssh-add
	// -x): a salted hash of the passphrase, compared in constant time.
	pass, salt []byte
	addr       string // where Serve listens
}

var _ agent.SSHService = (*Service)(nil)

// key is one identity. sealed is nil while kr is locked (or its ttl ran
// out): the key is listed and cannot sign.
type key struct {
	blob     []byte // the public key
	comment  string
	sealed   *agent.Sealed
	confirm  bool
	fromKr   bool      // loaded by kr from its store: stays listed when locked
	removeAt time.Time // lifetime constraint (zero: none), wall clock
	wipeAt   time.Time // kr's ttl (zero: none), wall clock
}

// New returns a Service holding no key.
func New(opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts}
}

// Handle answers one SSH agent message that came over kr's connection.
func (s *Service) Handle(msg []byte) ([]byte, error) {
	if len(msg) == 0 || len(msg) > min(agent.MaxMessage, maxMessage) {
		return nil, errors.New("ssh: empty or oversized message")
	}
	return (&conn{s: s, kr: true}).handle(msg), nil
}

// serveConn answers one connection's messages until it ends or sends one
// that is empty or over maxMessage (which ends it, as with ssh-agent).
func (s *Service) serveConn(rw io.ReadWriter) {
	c := &conn{s: s}
	if nc, ok := rw.(net.Conn); ok {
		c.peer = nc // the guard names the program on the other end
	}
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(rw, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > maxMessage {
			return
		}
		msg := make([]byte, n)
		_, err := io.ReadFull(rw, msg)
		if err != nil {
			return
		}
		out := c.handle(msg)
		clear(msg) // may have held a private key or a passphrase
		frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(out)), uint32(len(out)))
		if _, err := rw.Write(append(frame, out...)); err != nil {
			return
		}
	}
}

// Lock wipes every private key: kr's stay listed (kr unlock loads them
// again), keys ssh-add gave go altogether, for nothing could bring their
// private half back.
func (s *Service) Lock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.keys[:0]
	for _, k := range s.keys {
		k.wipe()
		if k.fromKr {
			kept = append(kept, k)
		}
	}
	clear(s.keys[len(kept):])
	s.keys = kept
}

// Held reports whether any key is listed.
func (s *Service) Held() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	return len(s.keys) > 0
}

// Expire applies lifetimes and ttls now; Serve calls it every second, so
// a key is wiped when its time is up, not when it is next asked for.
func (s *Service) Expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
}

func (s *Service) expireLocked() {
	now := s.opts.Now().Round(0)
	kept := s.keys[:0]
	for _, k := range s.keys {
		if !k.wipeAt.IsZero() && !now.Before(k.wipeAt) {
			k.wipe()
		}
		if !k.removeAt.IsZero() && !now.Before(k.removeAt) {
			k.wipe()
			continue
		}
		kept = append(kept, k)
	}
	clear(s.keys[len(kept):])
	s.keys = kept
}

func (k *key) wipe() {
	if k.sealed != nil {
		k.sealed.Destroy()
		k.sealed = nil
	}
}

// find returns the key with blob, expired ones gone.
func (s *Service) findLocked(blob []byte) *key {
	s.expireLocked()
	for _, k := range s.keys {
		if bytes.Equal(k.blob, blob) {
			return k
		}
	}
	return nil
}

func (s *Service) passLocked() bool { return s.pass != nil }

func hashPass(salt, pass []byte) []byte {
	h := sha512.New()
	h.Write(salt)
	h.Write(pass)
	return h.Sum(nil)
}

// Serve accepts connections on l until ctx ends, serving each with the SSH
// agent protocol; addr is what `kr ssh env` tells clients to use.
func (s *Service) Serve(ctx context.Context, l net.Listener, addr string) error {
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				l.Close()
				return
			case <-t.C:
				s.Expire()
			}
		}
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer l.Close()
	slots := make(chan struct{}, 64)
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("ssh agent: %w", err)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			c.Close()
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s.serveConn(c)
			c.Close()
		}()
	}
}
