// Package sshagent is the SSH key service of kr's agent: it holds SSH
// private keys sealed as the agent holds vault keys, and serves OpenSSH's
// agent protocol (golang.org/x/crypto/ssh/agent) on a socket of its own
// beside the agent's, and over the agent's own connection (agent.OpSSH) for
// the CLI, which is how keys kept in kr's stores arrive: the service never
// opens a path or loads code because a client asked.
//
// It is a package of its own so that only `kr ssh` and `kr agent serve`
// reach golang.org/x/crypto/ssh.
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

	"golang.org/x/crypto/ssh"
	sshagent "golang.org/x/crypto/ssh/agent"

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
	pub      ssh.PublicKey
	blob     []byte
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
	if len(msg) == 0 || len(msg) > agent.MaxMessage {
		return nil, errors.New("ssh: empty or oversized message")
	}
	rw := &oneShot{in: make([]byte, 4+len(msg))}
	binary.BigEndian.PutUint32(rw.in, uint32(len(msg)))
	copy(rw.in[4:], msg)
	defer clear(rw.in)
	sshagent.ServeAgent(&conn{s: s, kr: true}, rw)
	if len(rw.out) < 4 {
		return nil, errors.New("ssh: no answer")
	}
	return rw.out[4:], nil
}

// oneShot is one request in, its answer out.
type oneShot struct {
	in  []byte
	off int
	out []byte
}

func (o *oneShot) Read(p []byte) (int, error) {
	if o.off >= len(o.in) {
		return 0, io.EOF
	}
	n := copy(p, o.in[o.off:])
	o.off += n
	return n, nil
}

func (o *oneShot) Write(p []byte) (int, error) { o.out = append(o.out, p...); return len(p), nil }

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
			sshagent.ServeAgent(&conn{s: s, peer: c}, c)
			c.Close()
		}()
	}
}
