package wslbridge

import (
	"bytes"
	"testing"

	"github.com/kr-keyring/kr/agent"
)

// FuzzReadMessages reads arbitrary bytes as a request and as an answer:
// what is accepted encodes again and reads back the same.
func FuzzReadMessages(f *testing.F) {
	for _, m := range []any{
		&Request{V: Version, Op: OpSet, Service: "kr", Name: "db/prod", Value: []byte("s3cret")},
		&Request{V: Version, Op: OpCredWrite, Name: "git:https://h", Cred: &CredInfo{Target: "git:https://h", UserName: "u", Attrs: map[string]string{"label": "RG9ja2Vy"}}, Value: []byte{0, 1}},
		&Response{V: Version, Names: []string{"a", "b"}},
		&Response{V: Version, Creds: []CredInfo{{Target: "t", Modified: "2026-01-02T03:04:05Z"}}, Value: []byte("x")},
		&Response{V: Version, Code: CodeNotFound, Error: "secret not found: x"},
	} {
		var b bytes.Buffer
		if err := agent.WriteFrame(&b, m); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req Request
		if agent.ReadFrame(bytes.NewReader(b), &req, Version) == nil {
			again(t, &req, &Request{})
			if req.Cred != nil {
				fromInfo(*req.Cred) // must not panic
			}
		}
		var resp Response
		if agent.ReadFrame(bytes.NewReader(b), &resp, Version) == nil {
			again(t, &resp, &Response{})
			for _, c := range resp.Creds {
				fromInfo(c)
			}
		}
	})
}

func again(t *testing.T, m, into any) {
	var b bytes.Buffer
	if err := agent.WriteFrame(&b, m); err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	if err := agent.ReadFrame(&b, into, Version); err != nil {
		t.Fatalf("read back: %v", err)
	}
}
