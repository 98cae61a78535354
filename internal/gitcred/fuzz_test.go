package gitcred

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends/memory"
)

// FuzzParse: whatever git's side of the pipe holds, Parse never panics,
// never keeps a newline or NUL in a value, and the helper answers a get
// with the stored credential only when the request names its exact
// protocol and host, on both layouts. The corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"protocol=https\nhost=victim.example\n\n",
		"protocol=https\nhost=victim.example:443\n",
		"url=https://victim.example/\n",
		"url=https://u:p@victim.example%2F/x\n",
		"protocol=https\nhost=victim.example\x00\n",
		"capability[]=authtype\nwwwauth[]=Basic realm=\"x\"\nprotocol=https\nhost=victim.example\npassword_expiry_utc=99999999999\n",
		"protocol=https\nhost=VICTIM.example\n",
		"host\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		q, err := Parse(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, v := range []string{q.Protocol, q.Host, q.Path, q.Username, string(q.Password), string(q.OAuthRefreshToken)} {
			if strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("Parse kept a newline or NUL: %+v", q)
			}
		}
		for _, store := range []Store{Named{B: memory.New()}, SecretService{SS: newFakeSS()}} {
			h := &Helper{Store: store, Now: func() time.Time { return clock }}
			ctx := context.Background()
			victim := "protocol=https\nhost=victim.example\nusername=v\npassword=victim-secret\n"
			if err := h.Run(ctx, "store", strings.NewReader(victim), &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := h.Run(ctx, "get", bytes.NewReader(in), &out); err != nil {
				return
			}
			if bytes.Contains(out.Bytes(), []byte("victim-secret")) && (q.Protocol != "https" || q.Host != "victim.example") {
				t.Fatalf("request %+v got the victim's credential: %q", q, out.Bytes())
			}
		}
	})
}
