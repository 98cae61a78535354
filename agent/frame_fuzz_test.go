package agent

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
)

// FuzzReadMsg feeds raw bytes as they would arrive on a connection: a
// length prefix and a body, read as a request and as a response. readMsg
// must never panic, must refuse empty and oversized messages before
// reading their body, and what it accepts must be of this version and
// re-encode, field for field, to a frame that reads back to the same
// frame. A refused message leaves no byte field unwiped.
func FuzzReadMsg(f *testing.F) {
	frame := func(body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		return append(b, body...)
	}
	f.Add(frame(`{"v":2,"op":"status"}`))
	f.Add(frame(`{"v":2,"op":"decrypt","vault_id":"age1x","ciphertext":"AAAA"}`))
	f.Add(frame(`{"v":2,"op":"unlock","passphrase":"cHc=","identity_file":null,"ttl_seconds":5}`))
	f.Add(frame(`{"v":2,"plaintext":"aGk=","status":{"pid":1,"vaults":[{"id":"a","expires_at":"b"}],"cached":["k"]}}`))
	f.Add(frame(`{"v":2,"status":{"pid":1,"PID":2}}`))
	f.Add(frame(`{"v":0,"op":"stop"}`))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{'})
	f.Add(binary.BigEndian.AppendUint32(nil, MaxMessage+1))
	f.Add(frame(`{"v":2,"op":"status"`)[:10])
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, msg := range []any{&Request{}, &Response{}} {
			err := readMsg(bytes.NewReader(data), msg)
			if len(data) >= 4 {
				n := binary.BigEndian.Uint32(data)
				if (n == 0 || n > MaxMessage) && err == nil {
					t.Fatalf("accepted a message of length %d", n)
				}
			}
			if err != nil {
				v, _, _ := message(msg)
				if werr := wiped(v); werr != nil {
					t.Fatalf("refused (%v) but %v", err, werr)
				}
				continue
			}
			switch m := msg.(type) {
			case *Request:
				if m.V != Version {
					t.Fatalf("accepted version %d", m.V)
				}
			case *Response:
				if m.V != Version {
					t.Fatalf("accepted version %d", m.V)
				}
			}
			var first bytes.Buffer
			if err := writeMsg(&first, msg); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			back := reflect.New(reflect.TypeOf(msg).Elem()).Interface()
			enc := bytes.Clone(first.Bytes())
			if err := readMsg(&first, back); err != nil {
				t.Fatalf("re-read %s: %v", enc[4:], err)
			}
			var second bytes.Buffer
			if err := writeMsg(&second, back); err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(second.Bytes(), enc) {
				t.Fatalf("round trip changed the message:\n%s\n%s", enc[4:], second.Bytes()[4:])
			}
		}
	})
}
