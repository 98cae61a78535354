package sshagent

import (
	"bytes"
	"context"
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

	"golang.org/x/crypto/ssh"
	sshagent "golang.org/x/crypto/ssh/agent"

	"github.com/kr-keyring/kr/agent"
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

var _ sshagent.ExtendedAgent = (*conn)(nil)

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

func (c *conn) List() ([]*sshagent.Key, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.passLocked() {
		return nil, nil // as ssh-agent: a locked agent lists nothing
	}
	s.expireLocked()
	out := make([]*sshagent.Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, &sshagent.Key{Format: k.pub.Type(), Blob: k.blob, Comment: k.comment})
	}
	return out, nil
}

func (c *conn) Sign(pub ssh.PublicKey, data []byte) (*ssh.Signature, error) {
	return c.SignWithFlags(pub, data, 0)
}

func (c *conn) SignWithFlags(pub ssh.PublicKey, data []byte, flags sshagent.SignatureFlags) (*ssh.Signature, error) {
	s := c.s
	blob := pub.Marshal()
	s.mu.Lock()
	if s.passLocked() {
		s.mu.Unlock()
		return nil, errPassLock
	}
	k := s.findLocked(blob)
	if k == nil {
		s.mu.Unlock()
		return nil, errNoKey
	}
	sealed, confirm, comment, keyPub := k.sealed, k.confirm, k.comment, k.pub
	s.mu.Unlock()
	if sealed == nil {
		return nil, errLocked
	}
	if err := c.checkSession(data); err != nil {
		return nil, err
	}
	if confirm {
		if err := s.confirm(comment, keyPub); err != nil {
			return nil, err
		}
	}
	if s.opts.Guard != nil {
		if err := s.opts.Guard(c.peer, fmt.Sprintf("ssh key %s (%s)", comment, ssh.FingerprintSHA256(keyPub))); err != nil {
			return nil, errDenied
		}
	}
	alg := keyPub.Type()
	if alg == ssh.KeyAlgoRSA {
		switch {
		case flags&sshagent.SignatureFlagRsaSha512 != 0:
			alg = ssh.KeyAlgoRSASHA512
		case flags&sshagent.SignatureFlagRsaSha256 != 0:
			alg = ssh.KeyAlgoRSASHA256
		}
	}
	var sig *ssh.Signature
	err := sealed.Open(func(der []byte) error {
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return err
		}
		defer wipePrivate(priv)
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return err
		}
		as, ok := signer.(ssh.AlgorithmSigner)
		if !ok {
			return errors.New("key cannot choose its algorithm")
		}
		sig, err = as.SignWithAlgorithm(rand.Reader, data, alg)
		return err
	})
	if err != nil {
		return nil, errLocked // wiped meanwhile (a lock, an expiry)
	}
	return sig, nil
}

func (s *Service) confirm(comment string, pub ssh.PublicKey) error {
	if s.opts.Confirm == nil {
		return errDenied
	}
	ctx, cancel := context.WithTimeout(context.Background(), confirmWait)
	defer cancel()
	ok, err := s.opts.Confirm.Confirm(ctx, fmt.Sprintf("Allow use of the SSH key %q (%s)?", comment, ssh.FingerprintSHA256(pub)))
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
	var req struct {
		Session []byte
		Type    byte
		Rest    []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(data, &req); err != nil || req.Type != 50 { // SSH_MSG_USERAUTH_REQUEST
		return nil // not a login: signatures of other data are not bound
	}
	if !bytes.Equal(req.Session, c.binds[len(c.binds)-1].sessionID) {
		return errors.New("the request is for another session than the bound one")
	}
	return nil
}

func (c *conn) Add(k sshagent.AddedKey) error {
	s := c.s
	if k.Certificate != nil {
		return errors.New("certificates are not supported")
	}
	var pubKey any
	switch p := k.PrivateKey.(type) {
	case *rsa.PrivateKey:
		pubKey = &p.PublicKey
	case *ecdsa.PrivateKey:
		pubKey = &p.PublicKey
	case ed25519.PrivateKey:
		pubKey = p.Public()
	case *ed25519.PrivateKey:
		k.PrivateKey = *p
		pubKey = p.Public()
	default:
		return fmt.Errorf("unsupported key type %T", k.PrivateKey)
	}
	defer wipePrivate(k.PrivateKey)
	pub, err := ssh.NewPublicKey(pubKey)
	if err != nil {
		return err
	}
	now := s.opts.Now().Round(0)
	e := &key{pub: pub, blob: pub.Marshal(), comment: k.Comment, confirm: k.ConfirmBeforeUse, fromKr: c.kr}
	if k.LifetimeSecs > 0 {
		e.removeAt = now.Add(time.Duration(k.LifetimeSecs) * time.Second)
	}
	for _, x := range k.ConstraintExtensions {
		if !c.kr || x.ExtensionName != ttlConstraint || len(x.ExtensionDetails) != 4 {
			// Destination restrictions among them: a constraint the agent
			// would not enforce must not be accepted.
			return fmt.Errorf("unsupported constraint %q", x.ExtensionName)
		}
		e.wipeAt = now.Add(time.Duration(binary.BigEndian.Uint32(x.ExtensionDetails)) * time.Second)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.PrivateKey)
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

func (c *conn) Remove(pub ssh.PublicKey) error {
	s := c.s
	blob := pub.Marshal()
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

func (c *conn) RemoveAll() error {
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

func (c *conn) Lock(pass []byte) error {
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

func (c *conn) Unlock(pass []byte) error {
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

func (c *conn) Signers() ([]ssh.Signer, error) {
	return nil, errors.New("private keys never leave the agent")
}

func (c *conn) Extension(typ string, contents []byte) ([]byte, error) {
	switch {
	case typ == "session-bind@openssh.com":
		return nil, c.bind(contents)
	case typ == socketExtension && c.kr:
		c.s.mu.Lock()
		addr := c.s.addr
		c.s.mu.Unlock()
		return ssh.Marshal(struct {
			Type byte
			Addr string
		}{6, addr}), nil // SSH_AGENT_SUCCESS and the address
	}
	return nil, sshagent.ErrExtensionUnsupported
}

// bind checks a session binding as ssh-agent does: the host key's
// signature of the session id must verify, at most maxBinds, and none
// after one made for authentication rather than forwarding.
func (c *conn) bind(contents []byte) error {
	var m struct {
		HostKey    []byte
		SessionID  []byte
		Signature  []byte
		Forwarding bool
	}
	if err := ssh.Unmarshal(contents, &m); err != nil {
		return err
	}
	hk, err := ssh.ParsePublicKey(m.HostKey)
	if err != nil {
		return err
	}
	var sig ssh.Signature
	if err := ssh.Unmarshal(m.Signature, &sig); err != nil {
		return err
	}
	if err := hk.Verify(m.SessionID, &sig); err != nil {
		return errors.New("session-bind: bad signature")
	}
	if n := len(c.binds); n >= maxBinds || (n > 0 && !c.binds[n-1].forwarding) {
		return errors.New("session-bind: connection already bound")
	}
	c.binds = append(c.binds, binding{sessionID: m.SessionID, forwarding: m.Forwarding})
	return nil
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
