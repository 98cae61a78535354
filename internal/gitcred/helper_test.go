package gitcred

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// clock is the transcripts' time: 2024-01-01T00:00:00Z.
var clock = time.Unix(1704067200, 0).UTC()

// TestTranscripts replays the protocol transcripts in testdata/transcripts
// on the helper over kr's name layout: each file is a request for the
// action it is named after ("get error" when the helper must fail), and
// ACTION.out, when it follows, the exact answer; without one the answer
// must be empty. "advance D" moves the clock. They hold the attributes of
// git after Debian's 2.39 (expiry, refresh token, capability[], wwwauth[]),
// which no git on the test machines sends.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	stores := map[string]func() Store{
		"names":         func() Store { return Named{B: memory.New()} },
		"secretservice": func() Store { return SecretService{SS: newFakeSS()} },
		"wincred":       func() Store { return WinCred{api: newFakeWinCred()} },
		"keychain":      func() Store { return Keychain{api: &fakeKeychain{}} },
	}
	for _, file := range files {
		for layout, newStore := range stores {
			t.Run(layout+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
				replay(t, file, newStore())
			})
		}
	}
}

func replay(t *testing.T, file string, store Store) {
	a, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	now := clock
	h := &Helper{Store: store, Now: func() time.Time { return now }}
	for i := 0; i < len(a.Files); i++ {
		f := a.Files[i]
		if d, ok := strings.CutPrefix(f.Name, "advance "); ok {
			step, err := time.ParseDuration(d)
			if err != nil {
				t.Fatal(err)
			}
			now = now.Add(step)
			continue
		}
		action, wantErr := strings.CutSuffix(f.Name, " error")
		var want []byte
		if i+1 < len(a.Files) && a.Files[i+1].Name == action+".out" {
			want = a.Files[i+1].Data
			i++
		}
		var out bytes.Buffer
		err := h.Run(context.Background(), action, bytes.NewReader(f.Data), &out)
		if wantErr != (err != nil) {
			t.Fatalf("step %d (%s): error %v, want error %v", i, f.Name, err, wantErr)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("step %d (%s) answered\n%s\nwant\n%s", i, f.Name, out.Bytes(), want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"NUL":             "protocol=https\nhost=a\x00b\n",
		"no equals":       "protocol=https\nhost\n",
		"oversize":        "protocol=https\npassword=" + strings.Repeat("x", MaxInput) + "\n",
		"oversize lines":  strings.Repeat("wwwauth[]=Basic realm=x\n", MaxInput/20),
		"url without ://": "url=example.org\n",
		"url with NUL":    "url=https://a%00b/\n",
		"url newline":     "url=https://a%0Ahost=evil/\n",
		"port abc":        "protocol=https\nhost=example.org:abc\n",
		"port 0":          "protocol=https\nhost=example.org:0\n",
		"port 65536":      "protocol=https\nhost=example.org:65536\n",
		"port empty":      "protocol=https\nhost=example.org:\n",
		"port signed":     "protocol=https\nhost=example.org:+443\n",
		"port in url":     "url=https://example.org:abc/\n",
		"IPv6 port":       "protocol=https\nhost=[::1]:x\n",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(in))
			if !errors.Is(err, ErrInput) {
				t.Fatalf("Parse = %+v, %v; want ErrInput", c, err)
			}
		})
	}
}

func TestParseStopsAtBlankLine(t *testing.T) {
	// Everything after the blank line is the caller's, not the request.
	c, err := Parse(strings.NewReader("protocol=https\nhost=a\n\nhost=b\n\x00"))
	if err != nil || c.Host != "a" {
		t.Fatalf("Parse = %+v, %v; want host a", c, err)
	}
	// The last line may lack its newline.
	c, err = Parse(strings.NewReader("protocol=https\nhost=a"))
	if err != nil || c.Host != "a" {
		t.Fatalf("Parse = %+v, %v; want host a", c, err)
	}
}

func TestFromURL(t *testing.T) {
	for raw, want := range map[string]Credential{
		"https://example.org":                       {Protocol: "https", Host: "example.org"},
		"https://u%40x:p%3Aw@example.org:8443/a/b/": {Protocol: "https", Host: "example.org:8443", Path: "a/b", Username: "u@x", Password: []byte("p:w")},
		"https://alice@example.org//repo.git//":     {Protocol: "https", Host: "example.org", Path: "repo.git", Username: "alice"},
		"cert:///etc/ssl/x.p12":                     {Protocol: "cert", Path: "etc/ssl/x.p12"},
	} {
		got, err := FromURL(raw)
		if err != nil || got.Protocol != want.Protocol || got.Host != want.Host || got.Path != want.Path ||
			got.Username != want.Username || !bytes.Equal(got.Password, want.Password) {
			t.Errorf("FromURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
}

// TestAnswerRefusesNewline: a stored value with a newline (written by
// another tool) is never sent: git would read the rest as attributes.
func TestAnswerRefusesNewline(t *testing.T) {
	var out bytes.Buffer
	c := &Credential{Username: "alice", Password: []byte("pw\nhost=evil.example")}
	if err := c.Answer(&out); err == nil || out.Len() != 0 {
		t.Fatalf("Answer = %q, %v; want an error and nothing written", out.String(), err)
	}
	if err := (&Credential{Username: "a\nb", Password: []byte("pw")}).Answer(&out); err == nil || out.Len() != 0 {
		t.Fatalf("Answer with a newline in the user name = %q, %v", out.String(), err)
	}
}

// TestStoredValueWithNewline: a credential a store holds with a newline in
// its first line cannot exist (the first line ends there), so the helper
// answers the first line and never the rest.
func TestStoredValueWithNewline(t *testing.T) {
	b := memory.New()
	ctx := context.Background()
	if err := b.Set(ctx, "git/https/example.org/alice", []byte("pw\nhost=evil.example\npassword=other")); err != nil {
		t.Fatal(err)
	}
	h := &Helper{Store: Named{B: b}}
	var out bytes.Buffer
	if err := h.Run(ctx, "get", strings.NewReader("protocol=https\nhost=example.org\n"), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "username=alice\npassword=pw\n" {
		t.Fatalf("answer = %q", out.String())
	}
}

// TestEraseKeepsNewerPassword: git's reject sends the password that
// failed; a credential stored since with another password stays.
func TestEraseKeepsNewerPassword(t *testing.T) {
	ctx := context.Background()
	b := memory.New()
	h := &Helper{Store: Named{B: b}}
	run := func(action, in string) string {
		var out bytes.Buffer
		if err := h.Run(ctx, action, strings.NewReader(in), &out); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		return out.String()
	}
	run("store", "protocol=https\nhost=h\nusername=u\npassword=new\n")
	run("erase", "protocol=https\nhost=h\nusername=u\npassword=old\n")
	if got := run("get", "protocol=https\nhost=h\n"); got != "username=u\npassword=new\n" {
		t.Fatalf("after erasing another password: %q", got)
	}
	run("erase", "protocol=https\nhost=h\nusername=u\npassword=new\n")
	if got := run("get", "protocol=https\nhost=h\n"); got != "" {
		t.Fatalf("after erasing the password: %q", got)
	}
	// Without a password, erase removes every user's credential there.
	run("store", "protocol=https\nhost=h\nusername=u1\npassword=a\n")
	run("store", "protocol=https\nhost=h\nusername=u2\npassword=b\n")
	run("store", "protocol=https\nhost=other\nusername=u1\npassword=c\n")
	run("erase", "protocol=https\nhost=h\n")
	names, _ := b.List(ctx, "git/")
	if !slices.Equal(names, []string{"git/https/other/u1"}) {
		t.Fatalf("after erase: %q", names)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []Credential{
		{Protocol: "https", Host: "example.org", Username: "alice"},
		{Protocol: "https", Host: "example.org:8443", Path: "team/repo.git", Username: "bob@example.org"},
		{Protocol: "https", Host: "[::1]:8080", Path: "..", Username: "."},
		{Protocol: "cert", Path: "/etc/x.p12", Username: "a b+c%d"},
	} {
		name := Name(&c)
		if err := backends.ValidateName(name); err != nil {
			t.Errorf("Name(%+v) = %q: %v", c, name, err)
			continue
		}
		e, ok := parseName(name)
		if !ok || e.Protocol != c.Protocol || e.Host != c.Host || e.Path != c.Path || e.Username != c.Username {
			t.Errorf("parseName(%q) = %+v, %v; want %+v", name, e, ok, c)
		}
	}
	if got := Name(&Credential{Protocol: "https", Host: "example.org:8443", Path: "a/b c", Username: "u@x"}); got != "git/https/example.org:8443/a+2Fb+20c/u@x" {
		t.Errorf("Name = %q", got)
	}
	for _, name := range []string{"git/https/h", "git/https/h/a/b/c/d", "other/https/h/u", "git/https/h/+41", "git/https/h/+2e", "git/https/h/+"} {
		if e, ok := parseName(name); ok {
			t.Errorf("parseName(%q) = %+v; want refused", name, e)
		}
	}
}
