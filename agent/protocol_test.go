package agent

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"net"
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

// TestDuplicateAndCaseVariantKeys: encoding/json lets a later duplicate key
// win and matches keys in any case, so {"op":"status","OP":"lock"} was a
// lock to the agent and a status to anyone reading the frame. Such frames
// are refused, and nothing is done.
func TestDuplicateAndCaseVariantKeys(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	s := NewServer(Options{})
	c := pipePair(t, s)
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"v":2,"op":"status","OP":"lock"}`,
		`{"v":2,"op":"status","op":"lock"}`,
		`{"v":2,"OP":"lock"}`,
		`{"V":1,"op":"lock"}`,
		`{"v":2,"op":"lock","extra":1}`,
	} {
		a, b := net.Pipe()
		go s.ServeConn(a)
		frame := append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
		go b.Write(frame)
		var resp Response
		err := readMsg(b, &resp)
		b.Close()
		if err != nil || resp.Error == "" {
			t.Errorf("%s: answered %+v, %v; want a refusal", body, resp, err)
		}
	}
	st, err := c.Status()
	if err != nil || len(st.Vaults) != 1 {
		t.Fatalf("after the frames: %+v, %v: a refused frame locked the agent", st, err)
	}
}

// TestFramesMatchJSON: the hand-built frames are what encoding/json would
// have written, so either end may be older.
func TestFramesMatchJSON(t *testing.T) {
	for _, v := range []any{
		Request{V: Version, Op: OpStatus},
		Request{V: Version, Op: OpUnlock, VaultID: "age1<&>", IdentityFile: []byte{0, 1, 2}, Passphrase: []byte("p\"w"), TTLSeconds: -5, IdleSeconds: 7},
		Request{V: Version, Op: OpCachePut, CacheKey: "secretservice\x00kr\x00a/b", Value: []byte("v"), Ciphertext: []byte("ct")},
		Response{V: Version},
		Response{V: Version, Error: "vault \u2028 x", Code: "locked"},
		Response{V: Version, Plaintext: []byte("hello"), Status: &Status{PID: 3, Vaults: []VaultStatus{{ID: "a", ExpiresAt: "b"}}, Cached: []string{}}},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := writeMsg(&buf, v); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes()[4:]; !bytes.Equal(got, want) {
			t.Errorf("frame %s\n  want %s", got, want)
		}
	}
}

// TestDecryptOverLimit: a plaintext too large for an answer is refused,
// not cut short: the agent read at most maxPlaintext bytes and returned
// them as if they were the whole secret.
func TestDecryptOverLimit(t *testing.T) {
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	s := NewServer(Options{})
	c := pipePair(t, s)
	if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{maxPlaintext, maxPlaintext + 1} {
		ct := encryptTo(t, id.Recipient(), string(bytes.Repeat([]byte{'x'}, n)))
		resp := s.handle(&Request{V: Version, Op: OpDecrypt, VaultID: vault, Ciphertext: ct})
		switch {
		case n <= maxPlaintext && (resp.Error != "" || len(resp.Plaintext) != n):
			t.Errorf("%d bytes: %d bytes back, %q", n, len(resp.Plaintext), resp.Error)
		case n > maxPlaintext && (resp.Code != CodeDecrypt || resp.Plaintext != nil):
			t.Errorf("%d bytes: %d bytes back, code %q, %q; want a refusal", n, len(resp.Plaintext), resp.Code, resp.Error)
		}
	}
}

// A frame refused after its secrets were decoded (another protocol
// version, a bad value after them) must not leave them behind unwiped.
func TestRefusedFrameWipesSecrets(t *testing.T) {
	for _, body := range []string{
		`{"v":3,"op":"unlock","passphrase":"c2VjcmV0","identity_file":"aWRlbnRpdHk=","value":"dmFsdWU="}`,
		`{"v":2,"op":"unlock","passphrase":"c2VjcmV0","identity_file":"aWRlbnRpdHk=","value":"dmFsdWU=","ttl_seconds":"x"}`,
	} {
		var frame []byte
		frame = binary.BigEndian.AppendUint32(frame, uint32(len(body)))
		frame = append(frame, body...)
		var req Request
		if err := readMsg(bytes.NewReader(frame), &req); err == nil {
			t.Fatalf("%s: accepted", body)
		}
		for name, b := range map[string][]byte{"passphrase": req.Passphrase, "identity_file": req.IdentityFile, "value": req.Value} {
			if bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
				t.Errorf("%s: %s left as %q", body, name, b)
			}
		}
	}
	body := `{"v":3,"plaintext":"cGxhaW4="}`
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	frame = append(frame, body...)
	var resp Response
	if err := readMsg(bytes.NewReader(frame), &resp); err == nil {
		t.Fatal("response of another version accepted")
	}
	if bytes.ContainsFunc(resp.Plaintext, func(r rune) bool { return r != 0 }) {
		t.Errorf("plaintext left as %q", resp.Plaintext)
	}
}
