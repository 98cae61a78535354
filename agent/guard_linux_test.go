package agent

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/wait"
)

type approveFunc func(ctx context.Context, program, secret string) (Approval, error)

func (f approveFunc) Approve(ctx context.Context, program, secret string) (Approval, error) {
	return f(ctx, program, secret)
}

// unixPair serves one connection of s over a Unix socket, whose peer the
// kernel names (a read is asked about only for a program it can name).
func unixPair(t *testing.T, s *Server) *Client {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		if c, err := ln.Accept(); err == nil {
			s.ServeConn(c)
		}
	}()
	c, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return NewClient(c)
}

// TestReadWaitsForTheDialog: a read the agent asks a person about is
// waited for past the client's wait limit, for as long as the dialog
// takes: the agent says it is asking before it waits.
func TestReadWaitsForTheDialog(t *testing.T) {
	t.Parallel()
	// The limit is what a loaded machine can surely meet for the agent's
	// "asking" answer; the dialog takes longer than it.
	const limit, dialog = 5 * time.Second, 7 * time.Second
	asked := make(chan string, 1)
	s := NewServer(Options{Approver: approveFunc(func(ctx context.Context, program, secret string) (Approval, error) {
		asked <- secret
		// A person who takes longer than the client's limit to answer.
		select {
		case <-time.After(dialog):
			return AllowOnce, nil
		case <-ctx.Done():
			return Deny, ctx.Err()
		}
	})})
	s.ring.CachePut("store\x00kr\x00app/token", []byte("the value"), time.Minute)
	c := unixPair(t, s).WithContext(wait.WithLimit(context.Background(), limit))
	start := time.Now()
	v, err := c.CacheGet("store\x00kr\x00app/token")
	if err != nil || string(v) != "the value" {
		t.Fatalf("a read allowed after a slow dialog: %q, %v", v, err)
	}
	if got := <-asked; got != "app/token" {
		t.Fatalf("the dialog asked about %q", got)
	}
	if d := time.Since(start); d < dialog {
		t.Fatalf("answered after %v, before the dialog was", d)
	}
}

// TestSignIsGuarded: signing with a vault's key is a use of it like a
// read: a program the person denies gets no signature, and the dialog
// says which vault's key.
func TestSignIsGuarded(t *testing.T) {
	t.Parallel()
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	asked := make(chan string, 1)
	s := NewServer(Options{Approver: approveFunc(func(ctx context.Context, program, secret string) (Approval, error) {
		asked <- secret
		return Deny, nil
	})})
	c := unixPair(t, s)
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	if sig, err := c.Sign(vault, []byte("kr-secret record")); err == nil || sig != nil {
		t.Fatalf("a denied program got a signature: %x, %v", sig, err)
	}
	select {
	case got := <-asked:
		if !strings.Contains(got, vault) {
			t.Errorf("the dialog asked about %q, not vault %s's key", got, vault)
		}
	default:
		t.Fatal("nobody was asked before the key signed")
	}
}
