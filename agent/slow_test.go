package agent

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent/internal/agecrypto"
	"github.com/kr-keyring/kr/internal/wait"
)

// slowOpen stands for scrypt on a busy machine: the unwrap takes d.
func slowOpen(d time.Duration) func(identityFile, pass []byte) ([]byte, error) {
	return func(identityFile, pass []byte) ([]byte, error) {
		<-time.After(d)
		return agecrypto.OpenIdentityFile(identityFile, pass)
	}
}

// TestUnlockOutlastsRequestTimeout: the request timeout bounds reading the
// request and writing the answer, not the unwrap between. An unwrap slower
// than the whole request timeout is answered, and the client, bounded to
// 100ms for every other answer, waits for it: `kr unlock` must not report
// a failure (once "receive: EOF") while the agent did unlock.
func TestUnlockOutlastsRequestTimeout(t *testing.T) {
	t.Parallel()
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	const requestTimeout = time.Second
	s := NewServer(Options{RequestTimeout: requestTimeout})
	s.ring.open = slowOpen(requestTimeout + requestTimeout/2)
	c := pipePair(t, s).WithContext(wait.WithLimit(context.Background(), 100*time.Millisecond))
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatalf("an unlock slower than the request timeout: %v", err)
	}
	st, err := c.Status()
	if err != nil || len(st.Vaults) != 1 || st.Vaults[0].ID != vault {
		t.Fatalf("status after the slow unlock: %+v, %v", st, err)
	}
}

// TestClientWaitNamesTheAgent: an agent that takes a request and never
// answers is given up on after the wait limit, with an error that is a
// timeout (exit 4), a transport failure (not a verdict on the request) and
// names the agent.
func TestClientWaitNamesTheAgent(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	go func() {
		var req Request
		readMsg(a, &req) // and never answer
	}()
	c := NewClient(b).WithContext(wait.WithLimit(context.Background(), 50*time.Millisecond))
	_, err := c.Status()
	var te *wait.TimeoutError
	var ce *ConnError
	if !errors.As(err, &te) || !errors.As(err, &ce) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status from a silent agent: %#v", err)
	}
	if te.What != "the agent did not answer" {
		t.Fatalf("the timeout says %q", te.What)
	}
}

// TestReadFromSilentAgentEndsAtTheLimit: a read (decrypt or cached value)
// from an agent that never answers, and never said it was asking anyone,
// ends at the wait limit like any other request: the extra time for a
// person at a dialog is not waited for when nobody is asked.
func TestReadFromSilentAgentEndsAtTheLimit(t *testing.T) {
	t.Parallel()
	for _, read := range []func(*Client) error{
		func(c *Client) error { _, err := c.Decrypt("age1x", []byte("ct")); return err },
		func(c *Client) error { _, err := c.CacheGet("k"); return err },
	} {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		go func() {
			var req Request
			readMsg(a, &req) // and never answer
		}()
		c := NewClient(b).WithContext(wait.WithLimit(context.Background(), 50*time.Millisecond))
		done := make(chan error, 1)
		go func() { done <- read(c) }()
		select {
		case err := <-done:
			var te *wait.TimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("a read from a silent agent: %#v", err)
			}
		case <-time.After(30 * time.Second): // a hang guard only; the limit is 50ms
			t.Fatal("a read from a silent agent was still waiting after 30s")
		}
	}
}
