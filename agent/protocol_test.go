package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"
	"time"
)

// TestLargeValues: a 1 MiB value (the backends' cap) travels both ways, as
// a cached value and as a decrypted secret, within MaxMessage.
func TestLargeValues(t *testing.T) {
	value := make([]byte, 1<<20)
	rand.Read(value)
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	s := NewServer(Options{})
	c := pipePair(t, s)
	if err := c.CachePut("file\x00kr\x00big", value, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, err := c.CacheGet("file\x00kr\x00big")
	if err != nil || !bytes.Equal(got, value) {
		t.Fatalf("cache round trip of 1 MiB: %d bytes, %v", len(got), err)
	}
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	plain := append([]byte("kr-secret/v1 big\n"), value...)
	got, err = c.Decrypt(vault, encryptTo(t, id.Recipient(), string(plain)))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt of a 1 MiB secret: %d bytes, %v", len(got), err)
	}
}

// TestFrameLimits: both ends refuse an empty message and one over
// MaxMessage, the reader before reading any body.
func TestFrameLimits(t *testing.T) {
	var req Request
	for _, n := range []uint32{0, MaxMessage + 1, 1<<32 - 1} {
		hdr := binary.BigEndian.AppendUint32(nil, n)
		if err := readMsg(bytes.NewReader(hdr), &req); err == nil || err.Error() == "EOF" || err.Error() == "unexpected EOF" {
			t.Errorf("length %d: %v, want a refusal before the body", n, err)
		}
	}
	var buf bytes.Buffer
	if err := writeMsg(&buf, Request{V: Version, Value: make([]byte, MaxMessage)}); err == nil {
		t.Error("writeMsg sent a message over MaxMessage")
	}
}
