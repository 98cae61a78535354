package agent

import (
	"sync"
	"testing"
	"time"
)

// TestDecryptWhileLocking: decryptions racing with lock and re-unlock
// either succeed with the right plaintext or report the vault locked;
// a key being wiped is never read half-wiped (run with -race).
func TestDecryptWhileLocking(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	ct := encryptTo(t, id.Recipient(), "kr-secret/v1 x\nhello")
	s := NewServer(Options{})
	c := pipePair(t, s)
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				resp := s.handle(&Request{V: Version, Op: OpDecrypt, VaultID: vault, Ciphertext: ct})
				if resp.Error != "" && resp.Code != "locked" {
					t.Errorf("decrypt during lock: %s (%s)", resp.Error, resp.Code)
					return
				}
				if resp.Error == "" && string(resp.Plaintext) != "kr-secret/v1 x\nhello" {
					t.Errorf("decrypt during lock: %q", resp.Plaintext)
					return
				}
			}
		}()
	}
	for range 30 {
		time.Sleep(time.Millisecond)
		s.Wipe()
		if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
