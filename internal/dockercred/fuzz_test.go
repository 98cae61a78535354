package dockercred

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// FuzzStoreThenGet: whatever a client writes to store, the helper does not
// crash, and what it accepts reads back identical for that server URL and
// for no other.
func FuzzStoreThenGet(f *testing.F) {
	f.Add(`{"ServerURL":"https://index.docker.io/v1/","Username":"u","Secret":"s"}`, "https://index.docker.io/v1/")
	f.Add(`{"ServerURL":"r:5000","Username":"<token>","Secret":"\u00e9"}`, "r:5000\n")
	f.Add(`{"ServerURL":"..","Username":"u","Secret":""}`, "..")
	f.Add(`{"ServerURL":"a+2Fb","Username":"u","Secret":"s"}`, "a/b")
	f.Fuzz(func(t *testing.T, req, query string) {
		s := NamedStore{B: backends.Checked(memory.New())}
		open := func(context.Context) (Store, error) { return s, nil }
		var out bytes.Buffer
		err := Serve(context.Background(), ActionStore, strings.NewReader(req), &out, open)
		if out.Len() != 0 {
			t.Fatalf("store printed %q", out.String())
		}
		if err != nil {
			if strings.ContainsRune(err.Error(), '\n') {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		var sent Credentials
		if json.Unmarshal([]byte(req), &sent) != nil {
			t.Fatalf("accepted %q that encoding/json refuses", req)
		}
		out.Reset()
		err = Serve(context.Background(), ActionGet, strings.NewReader(query), &out, open)
		q := strings.TrimSpace(query)
		if err != nil {
			if q == sent.ServerURL {
				t.Fatalf("get %q after store: %v", q, err)
			}
			return
		}
		if q != sent.ServerURL {
			t.Fatalf("get %q answered for %q", q, sent.ServerURL)
		}
		var got Credentials
		if err := json.Unmarshal(out.Bytes(), &got); err != nil || !utf8.Valid(out.Bytes()) {
			t.Fatalf("get printed %q: %v", out.String(), err)
		}
		if got != sent {
			t.Fatalf("read back %+v, stored %+v", got, sent)
		}
	})
}

// FuzzReadServerURL: no input crashes it or yields a URL with a control
// character.
func FuzzReadServerURL(f *testing.F) {
	f.Add("https://index.docker.io/v1/\n")
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, in string) {
		url, err := ReadServerURL(strings.NewReader(in))
		if err != nil {
			return
		}
		if url == "" || strings.IndexFunc(url, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			t.Fatalf("accepted %q", url)
		}
	})
}
