package agent

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzReadMsg feeds raw bytes as they would arrive on a connection: a
// length prefix and a body. readMsg must never panic, must refuse empty
// and oversized messages before reading their body, and what it accepts
// must be a version-1 request that re-encodes to a message it accepts.
func FuzzReadMsg(f *testing.F) {
	frame := func(body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		return append(b, body...)
	}
	f.Add(frame(`{"v":1,"op":"status"}`))
	f.Add(frame(`{"v":1,"op":"decrypt","vault_id":"age1x","ciphertext":"AAAA"}`))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{'})
	f.Add(binary.BigEndian.AppendUint32(nil, MaxMessage+1))
	f.Add(frame(`{"v":1,"op":"status"`)[:10])
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Request
		err := readMsg(bytes.NewReader(data), &req)
		if len(data) >= 4 {
			n := binary.BigEndian.Uint32(data)
			if (n == 0 || n > MaxMessage) && err == nil {
				t.Fatalf("accepted a message of length %d", n)
			}
		}
		if err != nil {
			return
		}
		if req.V != Version {
			t.Fatalf("accepted version %d", req.V)
		}
		var buf bytes.Buffer
		if err := writeMsg(&buf, req); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var again Request
		if err := readMsg(&buf, &again); err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if again.Op != req.Op || again.VaultID != req.VaultID || !bytes.Equal(again.Ciphertext, req.Ciphertext) {
			t.Fatalf("round trip changed the request: %+v vs %+v", again, req)
		}
	})
}
