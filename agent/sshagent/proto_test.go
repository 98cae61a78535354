package sshagent

// golang.org/x/crypto/ssh/agent is the independent implementation these
// tests hold the protocol against: its client talks to kr's server, and
// kr's client to its server, for every key type.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	xagent "golang.org/x/crypto/ssh/agent"

	"github.com/kr-keyring/kr/internal/sshwire"
)

// encodeSign and encodeSessionBind are the client side of messages only
// OpenSSH's clients send kr.
func encodeSign(s signRequest) []byte {
	b := sshwire.AppendBytes([]byte{msgSignRequest}, s.blob)
	return sshwire.AppendUint32(sshwire.AppendBytes(b, s.data), s.flags)
}

func encodeSessionBind(m sessionBind) []byte {
	b := sshwire.AppendBytes(nil, m.hostKey)
	b = sshwire.AppendBytes(b, m.sessionID)
	b = sshwire.AppendBytes(b, m.signature)
	return sshwire.AppendBool(b, m.forwarding)
}

var (
	allKeysOnce sync.Once
	allKeys     []crypto.Signer
)

func everyKeyType(t testing.TB) []crypto.Signer {
	allKeysOnce.Do(func() {
		_, ed, _ := ed25519.GenerateKey(rand.Reader)
		allKeys = append(allKeys, ed)
		for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
			k, _ := ecdsa.GenerateKey(c, rand.Reader)
			allKeys = append(allKeys, k)
		}
		r, _ := rsa.GenerateKey(rand.Reader, 2048)
		allKeys = append(allKeys, r)
	})
	return allKeys
}

// TestXCryptoClientAgainstKr: x/crypto's client adds, lists, signs with
// each flag, removes; kr's server answers as x/crypto expects.
func TestXCryptoClientAgainstKr(t *testing.T) {
	s := New(Options{})
	c := socketClient(t, s)
	for _, k := range everyKeyType(t) {
		pub, _ := ssh.NewPublicKey(k.Public())
		if err := c.Add(xagent.AddedKey{PrivateKey: k, Comment: pub.Type(), LifetimeSecs: 3600}); err != nil {
			t.Fatalf("%s: add: %v", pub.Type(), err)
		}
		list, err := c.List()
		if err != nil {
			t.Fatal(err)
		}
		last := list[len(list)-1]
		if last.Format != pub.Type() || !bytes.Equal(last.Blob, pub.Marshal()) || last.Comment != pub.Type() {
			t.Fatalf("listed %s %q, want %s", last.Format, last.Comment, pub.Type())
		}
		flags := map[xagent.SignatureFlags]string{0: pub.Type()}
		if pub.Type() == ssh.KeyAlgoRSA {
			flags[xagent.SignatureFlagRsaSha256] = ssh.KeyAlgoRSASHA256
			flags[xagent.SignatureFlagRsaSha512] = ssh.KeyAlgoRSASHA512
			flags[xagent.SignatureFlagRsaSha256|xagent.SignatureFlagRsaSha512] = ssh.KeyAlgoRSASHA512
		}
		for f, alg := range flags {
			sig, err := c.SignWithFlags(pub, []byte("data"), f)
			if err != nil {
				t.Fatalf("%s flags %d: %v", pub.Type(), f, err)
			}
			if sig.Format != alg {
				t.Fatalf("%s flags %d: signed %s, want %s", pub.Type(), f, sig.Format, alg)
			}
			if err := pub.Verify([]byte("data"), sig); err != nil {
				t.Fatalf("%s flags %d: %v", pub.Type(), f, err)
			}
		}
	}
	list, _ := c.List()
	if err := c.Remove(list[0]); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(list[0]); err == nil {
		t.Fatal("removed a key twice")
	}
	if err := c.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if l, _ := c.List(); len(l) != 0 {
		t.Fatalf("after remove all: %d keys", len(l))
	}
	edPub, _ := ssh.NewPublicKey(everyKeyType(t)[0].Public())
	ca, _ := ssh.NewSignerFromKey(everyKeyType(t)[1])
	cert := &ssh.Certificate{Key: edPub, CertType: ssh.UserCert, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(xagent.AddedKey{PrivateKey: everyKeyType(t)[0], Certificate: cert}); err == nil {
		t.Fatal("a certificate was added")
	}
}

// recorder is an x/crypto agent that keeps what it was sent.
type recorder struct {
	xagent.ExtendedAgent
	added []xagent.AddedKey
	ext   string
}

func (r *recorder) Add(k xagent.AddedKey) error { r.added = append(r.added, k); return nil }
func (r *recorder) Extension(name string, contents []byte) ([]byte, error) {
	r.ext = name
	return sshwire.AppendText([]byte{msgSuccess}, "/run/x/ssh.sock"), nil
}

// xcryptoSend serves each message with x/crypto's server over a.
func xcryptoSend(t *testing.T, a xagent.Agent) Send {
	return func(msg []byte) ([]byte, error) {
		x, y := net.Pipe()
		defer x.Close()
		go func() { xagent.ServeAgent(a, y); y.Close() }()
		if _, err := x.Write(binary.BigEndian.AppendUint32(nil, uint32(len(msg)))); err != nil {
			return nil, err
		}
		x.Write(msg)
		var hdr [4]byte
		if _, err := io.ReadFull(x, hdr[:]); err != nil {
			return nil, err
		}
		out := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		_, err := io.ReadFull(x, out)
		return out, err
	}
}

// TestKrClientAgainstXCrypto: what kr's client sends, x/crypto's server
// reads as meant: every key type, confirm, lifetime and kr's ttl.
func TestKrClientAgainstXCrypto(t *testing.T) {
	rec := &recorder{}
	send := xcryptoSend(t, rec)
	for _, k := range everyKeyType(t) {
		if err := Load(send, k, "c", true, 90*time.Second, time.Hour); err != nil {
			t.Fatal(err)
		}
		got := rec.added[len(rec.added)-1]
		if p, ok := got.PrivateKey.(*ed25519.PrivateKey); ok {
			got.PrivateKey = *p
		}
		if !got.PrivateKey.(interface{ Equal(crypto.PrivateKey) bool }).Equal(k) {
			t.Fatalf("%T: x/crypto read another key", k)
		}
		if got.Comment != "c" || !got.ConfirmBeforeUse || got.LifetimeSecs != 3600 || len(got.ConstraintExtensions) != 1 ||
			got.ConstraintExtensions[0].ExtensionName != ttlConstraint ||
			binary.BigEndian.Uint32(got.ConstraintExtensions[0].ExtensionDetails) != 90 {
			t.Fatalf("%T: x/crypto read %+v", k, got)
		}
	}
	if addr, err := Address(send); err != nil || addr != "/run/x/ssh.sock" || rec.ext != socketExtension {
		t.Fatalf("address %q, %v (extension %q)", addr, err, rec.ext)
	}
	// Listing and removal against x/crypto's own keyring.
	ring := xagent.NewKeyring()
	send = xcryptoSend(t, ring)
	for _, k := range everyKeyType(t) {
		if err := Load(send, k, "k", false, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := List(send)
	if err != nil || len(ids) != len(everyKeyType(t)) {
		t.Fatalf("list: %d, %v", len(ids), err)
	}
	for i, k := range everyKeyType(t) {
		blob, _ := sshwire.MarshalPublicKey(k.Public())
		if !bytes.Equal(ids[i].Blob, blob) || ids[i].Comment != "k" {
			t.Fatalf("key %d listed as %x %q", i, ids[i].Blob, ids[i].Comment)
		}
	}
	if err := Remove(send, ids[0].Blob); err != nil {
		t.Fatal(err)
	}
	if err := Remove(send, ids[0].Blob); !errors.Is(err, errRefused) {
		t.Fatalf("removing a key twice: %v", err)
	}
	if _, err := Address(send); err == nil {
		t.Fatal("x/crypto's keyring has no socket extension, yet Address answered")
	}
}

// TestMalformedMessages: every message cut short, or with a byte too
// many, is SSH_AGENT_FAILURE and the connection goes on; an empty or
// oversized length ends it.
func TestMalformedMessages(t *testing.T) {
	s := New(Options{})
	priv := everyKeyType(t)[0]
	blob, _ := sshwire.MarshalPublicKey(priv.Public())
	add, _ := encodeAdd(addRequest{priv: priv, comment: "c", confirm: true, lifetime: 5})
	msgs := map[string][]byte{
		"add":    add,
		"sign":   encodeSign(signRequest{blob: blob, data: []byte("d")}),
		"remove": encodeString(msgRemoveIdentity, blob),
		"lock":   encodeString(msgLock, []byte("pw")),
		"bind":   encodeExtension("session-bind@openssh.com", encodeSessionBind(sessionBind{hostKey: blob, sessionID: []byte("s"), signature: []byte("x")})),
	}
	x, y := net.Pipe()
	defer x.Close()
	go func() { s.serveConn(y); y.Close() }()
	ask := func(msg []byte) []byte {
		t.Helper()
		x.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(msg))), msg...))
		var hdr [4]byte
		if _, err := io.ReadFull(x, hdr[:]); err != nil {
			t.Fatalf("the connection ended: %v", err)
		}
		out := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		io.ReadFull(x, out)
		return out
	}
	plain, _ := encodeAdd(addRequest{priv: priv, comment: "c"})
	whole := map[int]bool{len(plain): true, len(plain) + 5: true} // add without confirm, or either constraint
	for name, m := range msgs {
		for i := 1; i < len(m); i++ {
			if name == "add" && whole[i] {
				continue
			}
			if out := ask(m[:i]); !(len(out) == 1 && (out[0] == msgFailure || out[0] == msgExtensionFailure)) {
				t.Fatalf("%s cut to %d bytes: answered %v", name, i, out)
			}
		}
		if name == "bind" {
			continue // an extension's contents are its own to bound
		}
		if out := ask(append(bytes.Clone(m), 0)); !bytes.Equal(out, []byte{msgFailure}) {
			t.Fatalf("%s with a byte too many: answered %v", name, out)
		}
	}
	for _, typ := range []byte{0, 3, 200, msgAddSmartcard, msgRemoveSmartcard, msgAddSmartcardConstrnd} {
		if out := ask([]byte{typ}); !bytes.Equal(out, []byte{msgFailure}) {
			t.Fatalf("message %d: answered %v", typ, out)
		}
	}
	if out := ask([]byte{msgRequestIdentities}); len(out) != 5 || out[0] != msgIdentitiesAnswer {
		t.Fatalf("the connection does not go on: %v", out)
	}
	// An oversized length ends the connection before its body is read.
	x.Write(binary.BigEndian.AppendUint32(nil, maxMessage+1))
	if _, err := x.Read(make([]byte, 1)); err == nil {
		t.Fatal("an oversized message was answered")
	}
	if _, err := s.Handle(make([]byte, maxMessage+1)); err == nil {
		t.Fatal("Handle took an oversized message")
	}
}

func TestMalformedAnswers(t *testing.T) {
	for _, out := range [][]byte{nil, {msgFailure}, {msgIdentitiesAnswer}, {msgIdentitiesAnswer, 0xff, 0xff, 0xff, 0xff},
		{msgIdentitiesAnswer, 0, 0, 0, 1, 0, 0, 0, 9}, {msgSignResponse}} {
		send := func([]byte) ([]byte, error) { return out, nil }
		if _, err := List(send); err == nil {
			t.Fatalf("List took %v", out)
		}
		if err := Remove(send, []byte{1}); err == nil {
			t.Fatalf("Remove took %v", out)
		}
		if _, err := Address(send); err == nil {
			t.Fatalf("Address took %v", out)
		}
	}
}

// FuzzHandle: no message makes the service panic, and every answer is one
// the protocol has.
func FuzzHandle(f *testing.F) {
	for _, k := range everyKeyType(f) {
		add, _ := encodeAdd(addRequest{priv: k, comment: "c", lifetime: 5, extensions: []constraintExt{{ttlConstraint, []byte{0, 0, 0, 9}}}})
		f.Add(add)
		blob, _ := sshwire.MarshalPublicKey(k.Public())
		f.Add(encodeSign(signRequest{blob: blob, data: []byte("d"), flags: flagRSASHA512}))
		f.Add(encodeString(msgRemoveIdentity, blob))
		f.Add(encodeExtension("session-bind@openssh.com", encodeSessionBind(sessionBind{hostKey: blob, sessionID: []byte("s")})))
	}
	f.Add([]byte{msgRequestIdentities})
	f.Add(encodeString(msgLock, []byte("pw")))
	f.Fuzz(func(t *testing.T, msg []byte) {
		s := New(Options{})
		for _, kr := range []bool{true, false} {
			if len(msg) == 0 {
				return
			}
			out := (&conn{s: s, kr: kr}).handle(msg)
			switch out[0] {
			case msgFailure, msgSuccess, msgExtensionFailure, msgIdentitiesAnswer, msgSignResponse, msgV1IdentitiesAnswer:
			default:
				t.Fatalf("answered message %d", out[0])
			}
		}
	})
}

// TestSessionBindHostKeyTypes: a host's signature verifies for every host
// key type sshd offers, rsa under SHA-2 as OpenSSH signs, and for a host
// certificate; a signature by another key does not.
func TestSessionBindHostKeyTypes(t *testing.T) {
	for i, k := range everyKeyType(t) {
		signer, _ := ssh.NewSignerFromKey(k)
		alg := signer.PublicKey().Type()
		if alg == ssh.KeyAlgoRSA {
			alg = ssh.KeyAlgoRSASHA512
		}
		sig, err := signer.(ssh.AlgorithmSigner).SignWithAlgorithm(rand.Reader, []byte("session"), alg)
		if err != nil {
			t.Fatal(err)
		}
		hostKeys := map[string][]byte{"key": signer.PublicKey().Marshal()}
		cert := &ssh.Certificate{Key: signer.PublicKey(), CertType: ssh.HostCert, ValidBefore: ssh.CertTimeInfinity}
		ca, _ := ssh.NewSignerFromKey(everyKeyType(t)[(i+1)%len(everyKeyType(t))])
		if err := cert.SignCert(rand.Reader, ca); err != nil {
			t.Fatal(err)
		}
		hostKeys["certificate"] = cert.Marshal()
		for what, hk := range hostKeys {
			c := &conn{s: New(Options{})}
			m := sessionBind{hostKey: hk, sessionID: []byte("session"), signature: ssh.Marshal(sig)}
			if _, err := c.extension("session-bind@openssh.com", encodeSessionBind(m)); err != nil {
				t.Fatalf("%s %s: %v", alg, what, err)
			}
			m.hostKey = ca.PublicKey().Marshal()
			if _, err := (&conn{s: c.s}).extension("session-bind@openssh.com", encodeSessionBind(m)); err == nil {
				t.Fatalf("%s %s: another key's binding verified", alg, what)
			}
		}
	}
}
