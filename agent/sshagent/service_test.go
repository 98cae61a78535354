package sshagent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	sshagent "golang.org/x/crypto/ssh/agent"
)

type fakeConfirm struct {
	mu    sync.Mutex
	allow bool
	asked int
}

func (f *fakeConfirm) Confirm(ctx context.Context, desc string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	return f.allow, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// socketClient is a client on the SSH socket side (not kr's connection).
func socketClient(t *testing.T, s *Service) sshagent.ExtendedAgent {
	a, b := net.Pipe()
	go s.serveConn(b)
	t.Cleanup(func() { a.Close(); b.Close() })
	return sshagent.NewClient(a)
}

func newKey(t *testing.T) (ed25519.PrivateKey, ssh.PublicKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ssh.NewPublicKey(pub)
	return priv, sp
}

func TestSignVerifyAndKrLock(t *testing.T) {
	s := New(Options{})
	priv, pub := newKey(t)
	if err := Load(s.Handle, priv, "work", false, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	c := socketClient(t, s)
	sig, err := c.Sign(pub, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify([]byte("data"), sig); err != nil {
		t.Fatal(err)
	}
	// A key ssh-add gave is gone after kr's lock; kr's own stays listed.
	other, _ := newKey(t)
	if err := c.Add(sshagent.AddedKey{PrivateKey: other, Comment: "added"}); err != nil {
		t.Fatal(err)
	}
	s.Lock()
	keys, err := c.List()
	if err != nil || len(keys) != 1 || keys[0].Comment != "work" {
		t.Fatalf("after kr's lock the agent lists %v (%v), want kr's key alone", keys, err)
	}
	if _, err := c.Sign(pub, []byte("data")); err == nil {
		t.Fatal("signed while kr's agent was locked")
	}
	if !s.Held() {
		t.Fatal("a listed key does not keep the agent")
	}
}

func TestConfirm(t *testing.T) {
	f := &fakeConfirm{}
	s := New(Options{Confirm: f})
	priv, pub := newKey(t)
	if err := Load(s.Handle, priv, "careful", true, 0, 0); err != nil {
		t.Fatal(err)
	}
	c := socketClient(t, s)
	if _, err := c.Sign(pub, []byte("x")); err == nil || f.asked != 1 {
		t.Fatalf("denied confirmation: sign err %v, asked %d", err, f.asked)
	}
	f.allow = true
	if _, err := c.Sign(pub, []byte("x")); err != nil || f.asked != 2 {
		t.Fatalf("allowed confirmation: sign err %v, asked %d", err, f.asked)
	}
	// No confirmer at all denies.
	s2 := New(Options{})
	Load(s2.Handle, priv, "careful", true, 0, 0)
	if _, err := socketClient(t, s2).Sign(pub, []byte("x")); err == nil {
		t.Fatal("a confirm key signed with nobody to ask")
	}
}

func TestLifetimeAndTTL(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := New(Options{Now: clk.now})
	p1, pub1 := newKey(t)
	p2, pub2 := newKey(t)
	Load(s.Handle, p1, "ttl", false, time.Minute, 0)
	c := socketClient(t, s)
	if err := c.Add(sshagent.AddedKey{PrivateKey: p2, Comment: "life", LifetimeSecs: 60}); err != nil {
		t.Fatal(err)
	}
	clk.add(61 * time.Second)
	s.Expire()
	keys, _ := c.List()
	if len(keys) != 1 || keys[0].Comment != "ttl" {
		t.Fatalf("after the lifetime: %v, want the ttl key alone still listed", keys)
	}
	if _, err := c.Sign(pub1, []byte("x")); err == nil {
		t.Fatal("signed after kr's ttl")
	}
	if _, err := c.Sign(pub2, []byte("x")); err == nil {
		t.Fatal("signed after the lifetime")
	}
}

func TestKrConstraintsOnlyOverKr(t *testing.T) {
	s := New(Options{})
	priv, _ := newKey(t)
	c := socketClient(t, s)
	err := c.Add(sshagent.AddedKey{PrivateKey: priv, ConstraintExtensions: []sshagent.ConstraintExtension{
		{ExtensionName: ttlConstraint, ExtensionDetails: binary.BigEndian.AppendUint32(nil, 5)}}})
	if err == nil {
		t.Fatal("the socket accepted kr's private constraint")
	}
	err = c.Add(sshagent.AddedKey{PrivateKey: priv, ConstraintExtensions: []sshagent.ConstraintExtension{
		{ExtensionName: "restrict-destination-v00@openssh.com", ExtensionDetails: []byte{0, 0, 0, 0}}}})
	if err == nil {
		t.Fatal("accepted a destination restriction the agent does not enforce")
	}
	if _, err := c.Extension(socketExtension, nil); err == nil {
		t.Fatal("the socket answered kr's own extension")
	}
}

func TestPassphraseLock(t *testing.T) {
	s := New(Options{})
	priv, pub := newKey(t)
	Load(s.Handle, priv, "k", false, 0, 0)
	c := socketClient(t, s)
	if err := c.Lock([]byte("pw")); err != nil {
		t.Fatal(err)
	}
	if keys, _ := c.List(); len(keys) != 0 {
		t.Fatal("a locked agent lists keys")
	}
	if _, err := c.Sign(pub, []byte("x")); err == nil {
		t.Fatal("a locked agent signed")
	}
	if err := c.Unlock([]byte("wrong")); err == nil {
		t.Fatal("unlocked with the wrong passphrase")
	}
	if err := c.Unlock([]byte("pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(pub, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// TestSmartcardRefused: SSH_AGENTC_ADD_SMARTCARD_KEY(_CONSTRAINED) would
// have the agent load a PKCS#11 library a client names.
func TestSmartcardRefused(t *testing.T) {
	s := New(Options{})
	for _, typ := range []byte{20, 26} {
		msg := append([]byte{typ}, ssh.Marshal(struct{ ID, PIN string }{"/usr/lib/evil.so", ""})...)
		out, err := s.Handle(msg)
		if err != nil || len(out) != 1 || out[0] != 5 { // SSH_AGENT_FAILURE
			t.Fatalf("smartcard add %d answered %v, %v", typ, out, err)
		}
	}
}

func TestSessionBind(t *testing.T) {
	s := New(Options{})
	priv, pub := newKey(t)
	Load(s.Handle, priv, "k", false, 0, 0)
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	host, _ := ssh.NewSignerFromKey(hostPriv)
	bind := func(session []byte, signer ssh.Signer, fwd bool) []byte {
		sig, _ := signer.Sign(rand.Reader, session)
		return ssh.Marshal(struct {
			HostKey, SessionID, Signature []byte
			Forwarding                    bool
		}{host.PublicKey().Marshal(), session, ssh.Marshal(sig), fwd})
	}
	c := socketClient(t, s)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	forged, _ := ssh.NewSignerFromKey(otherPriv)
	if _, err := c.Extension("session-bind@openssh.com", bind([]byte("s1"), forged, false)); err == nil {
		t.Fatal("a binding not signed by the host key was accepted")
	}
	if _, err := c.Extension("session-bind@openssh.com", bind([]byte("s1"), host, false)); err != nil {
		t.Fatal(err)
	}
	login := func(session string) []byte {
		return ssh.Marshal(struct {
			Session []byte
			Type    byte
			User    string
		}{[]byte(session), 50, "root"})
	}
	if _, err := c.Sign(pub, login("s1")); err != nil {
		t.Fatalf("login for the bound session: %v", err)
	}
	if _, err := c.Sign(pub, login("s2")); err == nil {
		t.Fatal("signed a login for another session than the bound one")
	}
	if _, err := c.Extension("session-bind@openssh.com", bind([]byte("s3"), host, false)); err == nil {
		t.Fatal("rebound a connection bound for authentication")
	}
	if _, err := c.Extension("no-such@example.com", nil); !errors.Is(err, sshagent.ErrExtensionUnsupported) {
		t.Fatalf("unknown extension: %v", err)
	}
}
