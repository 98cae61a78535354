package sshagent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/sshwire"
)

// conn is the agent one connection talks to: the service's keys, and the
// connection's own session bindings. kr says it came over kr's own
// connection (Handle), which alone may use kr's private constraints.
type conn struct {
	s     *Service
	kr    bool
	peer  net.Conn // the SSH client's connection; nil over kr's own
	binds []binding
}

// binding is one session-bind@openssh.com: ssh tells the agent which
// session (and host key) it is about to authenticate in.
type binding struct {
	sessionID  []byte
	forwarding bool
}

// maxBinds is OpenSSH's own cap on bindings per connection.
const maxBinds = 16

// confirmWait bounds one confirmation: a dialog nobody answers denies.
const confirmWait = 2 * time.Minute

// handle answers one message (its type byte first, no length). Every
// refusal and every malformed message is SSH_AGENT_FAILURE, as ssh-agent
// answers; the connection goes on.
func (c *conn) handle(msg []byte) []byte {
	out, err := c.dispatch(msg)
	if err != nil {
		return []byte{msgFailure}
	}
	if out == nil {
		return []byte{msgSuccess}
	}
	return out
}

func (c *conn) dispatch(msg []byte) ([]byte, error) {
	switch msg[0] {
	case msgRequestV1Identities:
		return []byte{msgV1IdentitiesAnswer, 0, 0, 0, 0}, nil
	case msgRemoveAllV1:
		return nil, nil
	case msgRequestIdentities:
		return encodeIdentities(c.list()), nil
	case msgSignRequest:
		req, err := parseSign(msg)
		if err != nil {
			return nil, err
		}
		sig, err := c.sign(req)
		if err != nil {
			return nil, err
		}
		return encodeString(msgSignResponse, sig), nil
	case msgAddIdentity, msgAddIDConstrained:
		req, err := parseAdd(msg)
		if err != nil {
			return nil, err
		}
		return nil, c.add(req)
	case msgRemoveIdentity:
		blob, err := parseString(msg)
		if err != nil {
			return nil, err
		}
		return nil, c.remove(blob)
	case msgRemoveAll:
		return nil, c.removeAll()
	case msgLock, msgUnlock:
		pass, err := parseString(msg)
		if err != nil {
			return nil, err
		}
		if msg[0] == msgLock {
			return nil, c.lock(pass)
		}
		return nil, c.unlock(pass)
	case msgExtension:
		name, contents, err := parseExtension(msg)
		if err != nil {
			return nil, err
		}
		out, err := c.extension(name, contents)
		switch {
		case errors.Is(err, errUnsupportedExtension):
			return nil, err
		case err != nil:
			return []byte{msgExtensionFailure}, nil
		}
		return out, nil
	}
	// Smartcard adds (20, 26) would have the agent load a PKCS#11 library
	// a client names; they, their removal and unknown messages fail.
	return nil, fmt.Errorf("message %d is not served", msg[0])
}

func (c *conn) list() []Identity {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		return nil // as ssh-agent: a locked agent lists nothing
	}
	s.expireLocked()
	out := make([]Identity, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, Identity{Blob: k.blob, Comment: k.comment})
	}
	return out
}

func (c *conn) sign(req signRequest) ([]byte, error) {
	s := c.s
	s.mu.Lock()
	if s.passLocked() {
		s.mu.Unlock()
		return nil, errPassLock
	}
	k := s.findLocked(req.blob)
	if k == nil {
		s.mu.Unlock()
		return nil, errNoKey
	}
	sealed, confirm, comment, blob := k.sealed, k.confirm, k.comment, k.blob
	s.mu.Unlock()
	if sealed == nil {
		return nil, errLocked
	}
	if err := c.checkSession(req.data); err != nil {
		return nil, err
	}
	if confirm {
		if err := s.confirm(comment, blob); err != nil {
			return nil, err
		}
	}
	if s.opts.Guard != nil {
		if err := s.opts.Guard(c.peer, fmt.Sprintf("ssh key %s (%s)", comment, sshwire.Fingerprint(blob))); err != nil {
			return nil, errDenied
		}
	}
	alg := sshwire.BlobType(blob)
	if alg == sshwire.TypeRSA {
		switch {
		case req.flags&flagRSASHA512 != 0:
			alg = sshwire.SigRSASHA512
		case req.flags&flagRSASHA256 != 0:
			alg = sshwire.SigRSASHA256
		}
	}
	var sig []byte
	err := sealed.Open(func(der []byte) error {
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return err
		}
		defer wipePrivate(priv)
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return errors.New("not a signing key")
		}
		sig, err = sshwire.Sign(rand.Reader, signer, alg, req.data)
		return err
	})
	if err != nil {
		return nil, errLocked // wiped meanwhile (a lock, an expiry)
	}
	return sig, nil
}

func (s *Service) confirm(comment string, blob []byte) error {
	if s.opts.Confirm == nil {
		return errDenied
	}
	ctx, cancel := context.WithTimeout(context.Background(), confirmWait)
	defer cancel()
	ok, err := s.opts.Confirm.Confirm(ctx, fmt.Sprintf("Allow use of the SSH key %q (%s)?", comment, sshwire.Fingerprint(blob)))
	if err != nil || !ok {
		return errDenied
	}
	return nil
}

// checkSession refuses to sign a user authentication request for another
// session than the one this connection was last bound to: a forwarded
// agent's holder cannot use it to log in elsewhere under the user's name
// while ssh has told the agent which session it is in.
func (c *conn) checkSession(data []byte) error {
	if len(c.binds) == 0 {
		return nil
	}
	r := sshwire.NewReader(data)
	session := r.Bytes()
	if typ := r.Byte(); r.Err() != nil || typ != userAuthRequest {
		return nil // not a login: signatures of other data are not bound
	}
	if !bytes.Equal(session, c.binds[len(c.binds)-1].sessionID) {
		return errors.New("the request is for another session than the bound one")
	}
	return nil
}

func (c *conn) add(req addRequest) error {
	s := c.s
	defer wipeSigner(req.priv)
	blob, err := sshwire.MarshalPublicKey(req.priv.Public())
	if err != nil {
		return err
	}
	now := s.opts.Now().Round(0)
	e := &key{blob: blob, comment: req.comment, confirm: req.confirm, fromKr: c.kr}
	if req.lifetime > 0 {
		e.removeAt = now.Add(time.Duration(req.lifetime) * time.Second)
	}
	for _, x := range req.extensions {
		if !c.kr || x.name != ttlConstraint || len(x.details) != 4 {
			// Destination restrictions among them: a constraint the agent
			// would not enforce must not be accepted.
			return fmt.Errorf("unsupported constraint %q", x.name)
		}
		e.wipeAt = now.Add(time.Duration(binary.BigEndian.Uint32(x.details)) * time.Second)
	}
	der, err := x509.MarshalPKCS8PrivateKey(req.priv)
	if err != nil {
		return err
	}
	e.sealed = agent.Seal(der, s.opts.LockedMemory)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		e.wipe()
		return errPassLock
	}
	for i, old := range s.keys {
		if bytes.Equal(old.blob, e.blob) {
			old.wipe()
			s.keys[i] = e
			return nil
		}
	}
	s.keys = append(s.keys, e)
	return nil
}

func (c *conn) remove(blob []byte) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		return errPassLock
	}
	for i, k := range s.keys {
		if bytes.Equal(k.blob, blob) {
			k.wipe()
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			return nil
		}
	}
	return errNoKey
}

func (c *conn) removeAll() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		return errPassLock
	}
	for _, k := range s.keys {
		k.wipe()
	}
	s.keys = nil
	return nil
}

func (c *conn) lock(pass []byte) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		return errPassLock
	}
	s.salt = make([]byte, 16)
	rand.Read(s.salt)
	s.pass = hashPass(s.salt, pass)
	return nil
}

func (c *conn) unlock(pass []byte) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.passLocked() {
		return errors.New("the agent is not locked")
	}
	if subtle.ConstantTimeCompare(hashPass(s.salt, pass), s.pass) == 1 {
		s.pass, s.salt = nil, nil
		return nil
	}
	return errors.New("wrong passphrase")
}

func (c *conn) extension(name string, contents []byte) ([]byte, error) {
	switch {
	case name == "session-bind@openssh.com":
		return nil, c.bind(contents)
	case name == socketExtension && c.kr:
		c.s.mu.Lock()
		addr := c.s.addr
		c.s.mu.Unlock()
		return sshwire.AppendText([]byte{msgSuccess}, addr), nil
	}
	return nil, errUnsupportedExtension
}

// bind checks a session binding as ssh-agent does: the host key's
// signature of the session id must verify, at most maxBinds, and none
// after one made for authentication rather than forwarding.
func (c *conn) bind(contents []byte) error {
	m, err := parseSessionBind(contents)
	if err != nil {
		return err
	}
	hk, err := sshwire.ParseHostKey(m.hostKey)
	if err != nil {
		return err
	}
	if err := sshwire.Verify(hk, m.sessionID, m.signature); err != nil {
		return errors.New("session-bind: bad signature")
	}
	if n := len(c.binds); n >= maxBinds || (n > 0 && !c.binds[n-1].forwarding) {
		return errors.New("session-bind: connection already bound")
	}
	c.binds = append(c.binds, binding{sessionID: bytes.Clone(m.sessionID), forwarding: m.forwarding})
	return nil
}

// wipeSigner clears a key parsed from a message once it is sealed.
func wipeSigner(k crypto.Signer) {
	if k != nil {
		wipePrivate(k)
	}
}

// wipePrivate clears what it can of a parsed private key. Best effort:
// crypto/rsa and crypto/ecdsa keep copies of their own that cannot be
// reached; the sealed PKCS#8 is what holds the key between signatures.
func wipePrivate(k any) {
	switch p := k.(type) {
	case ed25519.PrivateKey:
		clear(p)
	case *ecdsa.PrivateKey:
		if p.D != nil {
			clear(p.D.Bits())
		}
	case *rsa.PrivateKey:
		if p.D != nil {
			clear(p.D.Bits())
		}
		for _, q := range p.Primes {
			clear(q.Bits())
		}
		for _, b := range []*big.Int{p.Precomputed.Dp, p.Precomputed.Dq, p.Precomputed.Qinv} {
			if b != nil {
				clear(b.Bits())
			}
		}
	}
}
