package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/xeddsa"
)

// TestSign: the agent signs with the vault's key it holds, a signature
// that verifies against the vault's age recipient, and only while
// unlocked.
func TestSign(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	s := NewServer(Options{})
	c := pipePair(t, s)
	msg := []byte("a write to sign")
	if _, err := c.Sign(vault, msg); !errors.Is(err, ErrLocked) {
		t.Fatalf("sign before unlock: %v", err)
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	sig, err := c.Sign(vault, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !xeddsa.VerifyRecipient(vault, msg, sig) {
		t.Fatal("the agent's signature does not verify against the vault's recipient")
	}
	if xeddsa.VerifyRecipient(vault, []byte("another"), sig) {
		t.Fatal("the signature verifies another message")
	}
	if err := c.Lock(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sign(vault, msg); !errors.Is(err, ErrLocked) {
		t.Fatalf("sign after lock: %v", err)
	}
}
