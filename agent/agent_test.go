package agent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/ipc"
)

// newIdentityFile makes an age identity file wrapped to pass at a low
// scrypt cost, the way the vault writes identity.age.
func newIdentityFile(t testing.TB, pass string) (*age.X25519Identity, []byte) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := age.NewScryptRecipient(pass)
	r.SetWorkFactor(10)
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, r)
	w.Write([]byte("# test identity\n" + id.String() + "\n"))
	w.Close()
	return id, buf.Bytes()
}

func encryptTo(t testing.TB, r age.Recipient, msg string) []byte {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(msg))
	w.Close()
	return buf.Bytes()
}

// pipePair serves one connection of s in the background.
func pipePair(t testing.TB, s *Server) *Client {
	a, b := net.Pipe()
	go s.ServeConn(a)
	t.Cleanup(func() { b.Close() })
	return NewClient(b)
}

func TestUnlockDecryptLock(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	s := NewServer(Options{})
	c := pipePair(t, s)
	ct := encryptTo(t, id.Recipient(), "kr-secret/v1 x\nhello")
	if _, err := c.Decrypt(vault, ct); !errors.Is(err, ErrLocked) {
		t.Fatalf("decrypt before unlock: %v", err)
	}
	if err := c.Unlock(vault, wrapped, []byte("wrong"), time.Minute, 0); !errors.Is(err, ErrBadPassphrase) {
		t.Fatalf("unlock with a wrong passphrase: %v", err)
	}
	other, _ := age.GenerateX25519Identity()
	if err := c.Unlock(other.Recipient().String(), wrapped, []byte("pw"), time.Minute, 0); err == nil {
		t.Fatal("unlock accepted an identity for another vault id")
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	got, err := c.Decrypt(vault, ct)
	if err != nil || string(got) != "kr-secret/v1 x\nhello" {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	st, err := c.Status()
	if err != nil || len(st.Vaults) != 1 || st.Vaults[0].ID != vault {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if strings.Contains(strings.ToLower(st.Vaults[0].ID), "secret") {
		t.Fatal("status shows key material")
	}
	if err := c.Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(vault, ct); !errors.Is(err, ErrLocked) {
		t.Fatalf("decrypt after lock: %v", err)
	}
}

// TestTTL uses a fake clock: the key expires by the monotonic reading, by
// the wall clock (time in suspend), and by idleness.
func TestTTL(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	ct := encryptTo(t, id.Recipient(), "v")
	now := time.Now()
	s := NewServer(Options{Now: func() time.Time { return now }})
	c := pipePair(t, s)

	c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 0)
	now = now.Add(59 * time.Minute)
	if _, err := c.Decrypt(vault, ct); err != nil {
		t.Fatalf("within the ttl: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if _, err := c.Decrypt(vault, ct); !errors.Is(err, ErrLocked) {
		t.Fatalf("past the ttl: %v", err)
	}

	// Suspend: the monotonic clock stood still, the wall clock moved on.
	now = time.Now()
	c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 0)
	s.ring.mu.Lock()
	s.ring.vaults[vault].wallExp = now.Round(0).Add(-time.Second)
	s.ring.mu.Unlock()
	if _, err := c.Decrypt(vault, ct); !errors.Is(err, ErrLocked) {
		t.Fatalf("after a suspend past the ttl: %v", err)
	}

	c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 10*time.Minute)
	now = now.Add(9 * time.Minute)
	if _, err := c.Decrypt(vault, ct); err != nil {
		t.Fatalf("within the idle time: %v", err)
	}
	now = now.Add(11 * time.Minute)
	if _, err := c.Decrypt(vault, ct); !errors.Is(err, ErrLocked) {
		t.Fatalf("idle too long: %v", err)
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), 25*time.Hour, 0); err == nil {
		t.Fatal("a ttl over 24h was accepted")
	}
}

// TestBadMessages: zero-length and oversized messages are refused, and a
// client that says nothing is dropped at the request deadline.
func TestBadMessages(t *testing.T) {
	s := NewServer(Options{RequestTimeout: 200 * time.Millisecond})
	for _, hdr := range [][]byte{{0, 0, 0, 0}, {0x7f, 0xff, 0xff, 0xff}} {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { s.ServeConn(a); close(done) }()
		go b.Write(hdr)
		var resp Response
		readMsg(b, &resp)
		select {
		case <-done:
		case <-time.After(30 * time.Second): // a hang guard: it ends at once when it passes
			t.Fatalf("header %x: connection not closed", hdr)
		}
		b.Close()
	}
	a, b := net.Pipe()
	defer b.Close()
	done := make(chan struct{})
	go func() { s.ServeConn(a); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a hang guard: it ends at once when it passes
		t.Fatal("a silent client was not dropped")
	}
}

// TestBusyAgentQueues: at the connection cap a further client is not
// reset (kr reported that as a damaged file); it waits and gets its answer
// once a connection ends.
func TestBusyAgentQueues(t *testing.T) {
	path := testAddr(t)
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	const max = 32
	s := NewServer(Options{MaxConns: max, RequestTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	// Each of these is answered once, so it holds a slot, then stays idle.
	var held []*Client
	for range max {
		conn, err := ipc.Dial(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		c := NewClient(conn)
		if _, err := c.Status(); err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	answer := make(chan error, 1)
	go func() {
		conn, err := ipc.Dial(ctx, path)
		if err != nil {
			answer <- err
			return
		}
		c := NewClient(conn)
		defer c.Close()
		_, err = c.Status()
		answer <- err
	}()
	held[0].Close()
	if err := <-answer; err != nil {
		t.Fatalf("the client over the cap: %v", err)
	}
	for _, c := range held[1:] {
		c.Close()
	}
	conn, err := ipc.Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewClient(conn).Stop(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":2,"op":"status"}`))
	f.Add([]byte(`{"v":2,"op":"decrypt","vault_id":"age1x","ciphertext":"AAAA"}`))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":2,"op":"unlock","passphrase":"cHc=","ttl_seconds":-1}`))
	s := NewServer(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var req Request
		if err := decode(body, &req); err != nil {
			return
		}
		if req.V != Version {
			t.Fatalf("accepted version %d", req.V)
		}
		if req.Op == OpStop {
			return
		}
		resp := s.handle(&req) // must not panic on any decoded request
		if resp.V != Version {
			t.Fatalf("response version %d", resp.V)
		}
	})
}

func BenchmarkDecrypt(b *testing.B) {
	id, wrapped := newIdentityFile(b, "pw")
	vault := id.Recipient().String()
	path := testAddr(b)
	l, err := ipc.Listen(path)
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Options{LockedMemory: true})
	go s.Serve(context.Background(), l)
	defer l.Close()
	conn, err := ipc.Dial(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	c := NewClient(conn)
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 0); err != nil {
		b.Fatal(err)
	}
	ct := encryptTo(b, id.Recipient(), "kr-secret/v1 db/prod\na 32-byte database password here")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decrypt(vault, ct); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decryptions/s")
}

// TestStopRemovesSocketFirst: once Stop returns, the socket is gone and
// Serve has returned, so `kr agent stop; kr agent start` never meets the
// old agent's socket (TestScripts/agent_autostart failed on it 1 in 5).
func TestStopRemovesSocketFirst(t *testing.T) {
	path := testAddr(t)
	for i := range 50 {
		l, err := ipc.Listen(path)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		s := NewServer(Options{})
		done := make(chan error, 1)
		go func() { done <- s.Serve(context.Background(), l) }()
		conn, err := ipc.Dial(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		c := NewClient(conn)
		if err := c.Stop(); err != nil {
			t.Fatalf("cycle %d: stop: %v", i, err)
		}
		if _, err := os.Lstat(path); runtime.GOOS != "windows" && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("cycle %d: after stop returned the socket is still there (%v)", i, err)
		}
		if err := <-done; err != nil {
			t.Fatalf("cycle %d: serve: %v", i, err)
		}
		c.Close()
	}
}

// TestStatusSaysWhenLocked: a vault whose ttl ran out is listed as locked,
// "expired", at the end of its ttl (not when someone asked); kr lock makes
// it "locked" at that moment; a new unlock lists it as unlocked again.
func TestStatusSaysWhenLocked(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	start := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
	now := start
	s := NewServer(Options{Now: func() time.Time { return now }})
	c := pipePair(t, s)
	status := func() VaultStatus {
		t.Helper()
		st, err := c.Status()
		if err != nil || len(st.Vaults) != 1 {
			t.Fatalf("status: %+v, %v", st, err)
		}
		return st.Vaults[0]
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if v := status(); v.Locked != "" || v.ExpiresAt != "2026-12-07T21:00:00Z" {
		t.Fatalf("unlocked: %+v", v)
	}
	now = start.Add(3 * time.Hour)
	if v := status(); v.Locked != "expired" || v.LockedAt != "2026-12-07T21:00:00Z" || v.ExpiresAt != "" {
		t.Fatalf("after the ttl: %+v", v)
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	if v := status(); v.Locked != "" {
		t.Fatalf("unlocked again: %+v", v)
	}
	now = now.Add(time.Minute)
	if err := c.Lock(); err != nil {
		t.Fatal(err)
	}
	if v := status(); v.Locked != "locked" || v.LockedAt != "2026-12-07T23:01:00Z" {
		t.Fatalf("after kr lock: %+v", v)
	}
}
