package gitcred

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// fakeWinCred is Credential Manager's generic credentials in a map; the
// clock orders what it writes.
type fakeWinCred struct {
	m   map[string]winCred
	now time.Time
}

func newFakeWinCred() *fakeWinCred {
	return &fakeWinCred{m: map[string]winCred{}, now: time.Unix(1700000000, 0)}
}

func (f *fakeWinCred) list(prefix string) ([]winCred, error) {
	var out []winCred
	for _, k := range slices.Sorted(maps.Keys(f.m)) {
		if strings.HasPrefix(k, prefix) {
			c := f.m[k]
			c.Blob = nil
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeWinCred) read(t string) (winCred, error) {
	if c, ok := f.m[t]; ok {
		c.Blob = bytes.Clone(c.Blob)
		return c, nil
	}
	return winCred{}, errNoCred
}

func (f *fakeWinCred) write(c winCred) error {
	f.now = f.now.Add(time.Second)
	c.Blob, c.Modified = bytes.Clone(c.Blob), f.now
	f.m[c.Target] = c
	return nil
}

func (f *fakeWinCred) remove(t string) error {
	if _, ok := f.m[t]; !ok {
		return errNoCred
	}
	delete(f.m, t)
	return nil
}

func utf16le(s string) []byte {
	b, err := toUTF16([]byte(s))
	if err != nil {
		panic(err)
	}
	return b
}

func run(t *testing.T, h *Helper, action, in string) string {
	t.Helper()
	var out bytes.Buffer
	if err := h.Run(context.Background(), action, strings.NewReader(in), &out); err != nil {
		t.Fatalf("%s %q: %v", action, in, err)
	}
	return out.String()
}

// TestWinCredWritesGCMLayout: the credentials kr stores are Git Credential
// Manager's: target git:URL without the user name unless that target holds
// another user's (then with it, '@' written '_'), UserName the user, the
// password as UTF-16LE; the expiry also as wincred's attribute.
func TestWinCredWritesGCMLayout(t *testing.T) {
	f := newFakeWinCred()
	h := &Helper{Store: WinCred{api: f}, Now: func() time.Time { return clock }}
	run(t, h, "store", "protocol=https\nhost=example.org\nusername=alice\npassword=pw-é-😀\n")
	run(t, h, "store", "protocol=https\nhost=example.org\nusername=bob@corp\npassword=bob-pw\n")
	run(t, h, "store", "protocol=https\nhost=example.org:8443\npath=team/a b.git\nusername=carol\npassword=c\npassword_expiry_utc=1900000000\noauth_refresh_token=rt\n")
	want := map[string]winCred{
		"git:https://example.org":                     {UserName: "alice", Blob: utf16le("pw-é-😀")},
		"git:https://bob_corp@example.org":            {UserName: "bob@corp", Blob: utf16le("bob-pw")},
		"git:https://example.org:8443/team/a%20b.git": {UserName: "carol", Blob: utf16le("c\npassword_expiry_utc=1900000000\noauth_refresh_token=rt"), Expiry: "1900000000"},
	}
	if got := slices.Sorted(maps.Keys(f.m)); !slices.Equal(got, slices.Sorted(maps.Keys(want))) {
		t.Fatalf("targets %q", got)
	}
	for target, w := range want {
		got := f.m[target]
		if got.UserName != w.UserName || !bytes.Equal(got.Blob, w.Blob) || got.Expiry != w.Expiry || got.Comment != "" {
			t.Errorf("%s = %+v, want %+v", target, got, w)
		}
	}
	// Storing alice again replaces her credential in place.
	run(t, h, "store", "protocol=https\nhost=example.org\nusername=alice\npassword=new\n")
	if got := f.m["git:https://example.org"]; got.UserName != "alice" || !bytes.Equal(got.Blob, utf16le("new")) || len(f.m) != 3 {
		t.Fatalf("after a second store: %+v (%d credentials)", got, len(f.m))
	}
	if got := run(t, h, "get", "protocol=https\nhost=example.org\nusername=bob@corp\n"); got != "username=bob@corp\npassword=bob-pw\n" {
		t.Fatalf("get bob: %q", got)
	}
	if got := run(t, h, "get", "protocol=https\nhost=example.org:8443\npath=team/a b.git\n"); got != "username=carol\npassword=c\npassword_expiry_utc=1900000000\noauth_refresh_token=rt\n" {
		t.Fatalf("get carol: %q", got)
	}
	// Too long for a blob: refused, not cut.
	err := h.Run(context.Background(), "store", strings.NewReader("protocol=https\nhost=big\nusername=u\npassword="+strings.Repeat("x", MaxWinCredBlob/2+1)+"\n"), &bytes.Buffer{})
	if !errors.Is(err, backends.ErrTooBig) {
		t.Fatalf("oversize password: %v", err)
	}
}

// TestWinCredReadsOthers: credentials git-credential-wincred (CRLF lines,
// the user name and a raw path in the target, expiry attribute) and GCM
// stored are found, for their own host, protocol, port and path only.
func TestWinCredReadsOthers(t *testing.T) {
	f := newFakeWinCred()
	add := func(target, user, comment, blob, expiry string) {
		f.write(winCred{Target: target, UserName: user, Comment: comment, Blob: utf16le(blob), Expiry: expiry})
	}
	add("git:https://alice@example.org", "alice", wincredComment, "wincred-pw", "")
	add("git:https://a@b@wincred.example/team/a b%20c", "a@b", wincredComment, "pw2\r\noauth_refresh_token=rt2", "1900000000")
	add("git:https://expired@wincred.example", "expired", wincredComment, "old", "1000")
	add("git:https://gcm.example/team/a%20b", "gcm-user", "", "gcm-pw\noauth_refresh_token=rt3", "")
	add("git:https://example.org:8443", "port", "", "port-pw", "")
	add("git:http://example.org", "http", "", "http-pw", "")
	add("git:https://example.org.evil", "evil", "", "evil-pw", "")
	add("git:https://evil.example/example.org", "evil2", "", "evil-pw", "")
	add("other:https://example.org", "x", "", "x", "")
	add("git:https://\u212Aelvin.example", "kelvin", "", "kelvin-pw", "")
	h := &Helper{Store: WinCred{api: f}, Now: func() time.Time { return clock }}
	for in, want := range map[string]string{
		"protocol=https\nhost=example.org\n":                                "username=alice\npassword=wincred-pw\n",
		"protocol=https\nhost=EXAMPLE.org\n":                                "username=alice\npassword=wincred-pw\n",
		"protocol=https\nhost=example.org:8443\n":                           "username=port\npassword=port-pw\n",
		"protocol=https\nhost=example.org:8444\n":                           "",
		"protocol=http\nhost=example.org\n":                                 "username=http\npassword=http-pw\n",
		"protocol=http\nhost=example.org:8443\n":                            "",
		"protocol=https\nhost=wincred.example\npath=team/a b%20c\n":         "username=a@b\npassword=pw2\npassword_expiry_utc=1900000000\noauth_refresh_token=rt2\n",
		"protocol=https\nhost=wincred.example\nusername=expired\n":          "",
		"protocol=https\nhost=gcm.example\npath=team/a b\n":                 "username=gcm-user\npassword=gcm-pw\noauth_refresh_token=rt3\n",
		"protocol=https\nhost=gcm.example\npath=team/a%20b\n":               "",
		"protocol=https\nhost=other.example\n":                              "",
		"protocol=https\nhost=kelvin.example\n":                             "",
		"protocol=https\nhost=evil.example\npath=example.org\n":             "username=evil2\npassword=evil-pw\n",
		"protocol=https\nhost=example.org\npath=evil.example/example.org\n": "",
	} {
		if got := run(t, h, "get", in); got != want {
			t.Errorf("get %q = %q, want %q", in, got, want)
		}
	}
	// kr's store for alice replaces wincred's item for her.
	run(t, h, "store", "protocol=https\nhost=example.org\nusername=alice\npassword=kr-pw\n")
	if _, ok := f.m["git:https://alice@example.org"]; ok || !bytes.Equal(f.m["git:https://example.org"].Blob, utf16le("kr-pw")) {
		t.Fatalf("after kr's store: %v", slices.Sorted(maps.Keys(f.m)))
	}
	run(t, h, "erase", "protocol=https\nhost=wincred.example\n")
	for target := range f.m {
		if strings.Contains(target, "wincred.example") {
			t.Errorf("erase left %s", target)
		}
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{"", "pw", "é", "€", "😀x", "\uFFFD"} {
		b, err := toUTF16([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		back, err := fromUTF16(b)
		if err != nil || string(back) != s {
			t.Errorf("%q -> % x -> %q, %v", s, b, back, err)
		}
	}
	if b := utf16le("😀"); !bytes.Equal(b, []byte{0x3d, 0xd8, 0x00, 0xde}) {
		t.Errorf("😀 = % x", b)
	}
	for _, b := range [][]byte{{'a'}, {0x3d, 0xd8}, {0x00, 0xde, 'a', 0}, {0x3d, 0xd8, 'a', 0}} {
		if v, err := fromUTF16(b); err == nil {
			t.Errorf("fromUTF16(% x) = %q, want an error", b, v)
		}
	}
	if _, err := toUTF16([]byte{0xff}); err == nil {
		t.Error("toUTF16 of invalid UTF-8: no error")
	}
}
