package dockercred

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

func serve(t *testing.T, s Store, action, in string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Serve(context.Background(), action, strings.NewReader(in), &out, func(context.Context) (Store, error) { return s, nil })
	return out.String(), err
}

// TestProtocolRoundTrip: store, get, list and erase as docker sends them,
// with a password and with an identity token.
func TestProtocolRoundTrip(t *testing.T) {
	mem := backends.Checked(memory.New())
	s := NamedStore{B: mem}
	for _, in := range []string{
		`{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"pa ss\"w\u00f6rd"}` + "\n",
		`{"ServerURL":"127.0.0.1:5000","Username":"<token>","Secret":"eyJ.token"}`,
	} {
		if out, err := serve(t, s, ActionStore, in); err != nil || out != "" {
			t.Fatalf("store %s: %q, %v", in, out, err)
		}
	}
	out, err := serve(t, s, ActionGet, "https://index.docker.io/v1/\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ServerURL":"https://index.docker.io/v1/","Username":"alice","Secret":"pa ss\"wörd"}` + "\n"; out != want {
		t.Fatalf("get printed %q, want %q", out, want)
	}
	out, _ = serve(t, s, ActionGet, "127.0.0.1:5000")
	if want := `{"ServerURL":"127.0.0.1:5000","Username":"\u003ctoken\u003e","Secret":"eyJ.token"}` + "\n"; out != want {
		t.Fatalf("get printed %q, want %q", out, want)
	}
	out, err = serve(t, s, ActionList, "unused")
	if want := `{"127.0.0.1:5000":"\u003ctoken\u003e","https://index.docker.io/v1/":"alice"}` + "\n"; err != nil || out != want {
		t.Fatalf("list: %q, %v; want %q", out, err, want)
	}
	names, _ := mem.List(context.Background(), "")
	if strings.Join(names, " ") != "docker/127.0.0.1:5000 docker/https:+2F+2Findex.docker.io+2Fv1+2F" {
		t.Fatalf("stored under %q", names)
	}
	if _, err := serve(t, s, ActionErase, "127.0.0.1:5000"); err != nil {
		t.Fatal(err)
	}
	// Erase of what is not there succeeds: logout is idempotent.
	if _, err := serve(t, s, ActionErase, "127.0.0.1:5000"); err != nil {
		t.Fatalf("second erase: %v", err)
	}
	_, err = serve(t, s, ActionGet, "127.0.0.1:5000")
	if err == nil || err.Error() != "credentials not found in native keychain" || !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("get after erase: %v", err)
	}
}

// TestNoCredentialForAnotherServer: only the exact server URL matches.
func TestNoCredentialForAnotherServer(t *testing.T) {
	s := NamedStore{B: backends.Checked(memory.New())}
	serve(t, s, ActionStore, `{"ServerURL":"registry.example:5000","Username":"u","Secret":"s"}`)
	for _, other := range []string{"registry.example", "registry.example:5001", "https://registry.example:5000", "registry.example:5000/x", "REGISTRY.example:5000"} {
		if out, err := serve(t, s, ActionGet, other); !errors.Is(err, ErrNotFound) || out != "" {
			t.Errorf("get %s: %q, %v", other, out, err)
		}
	}
}

// TestBadRequests: malformed input gets the error docker expects (or a
// refusal) and never reaches the store.
func TestBadRequests(t *testing.T) {
	cases := []struct {
		action, in string
		msg        string // exact, when docker reads it
	}{
		{ActionStore, `{"Username":"u","Secret":"s"}`, "no credentials server URL"},
		{ActionStore, `{"ServerURL":"","Username":"u","Secret":"s"}`, "no credentials server URL"},
		{ActionStore, `{"ServerURL":"r","Secret":"s"}`, "no credentials username"},
		{ActionStore, `{"ServerURL":"r","Username":"","Secret":"s"}`, "no credentials username"},
		{ActionGet, "", "no credentials server URL"},
		{ActionGet, " \n\t", "no credentials server URL"},
		{ActionErase, "\n", "no credentials server URL"},
		{ActionStore, ``, ""},
		{ActionStore, `not json`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"s"} {}`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"s","Extra":1}`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"s","secret":"t"}`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"s","Secret":"t"}`, ""},
		{ActionStore, `{"serverurl":"r","Username":"u","Secret":"s"}`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"a\u0000b"}`, ""},
		{ActionStore, "{\"ServerURL\":\"r\",\"Username\":\"u\",\"Secret\":\"a\x00b\"}", ""},
		{ActionStore, "{\"ServerURL\":\"r\",\"Username\":\"u\",\"Secret\":\"\xff\"}", ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"\ud800"}`, ""},
		{ActionStore, `{"ServerURL":"a\nb","Username":"u","Secret":"s"}`, ""},
		{ActionStore, `{"ServerURL":1,"Username":"u","Secret":"s"}`, ""},
		{ActionStore, `["r","u","s"]`, ""},
		{ActionStore, `{"ServerURL":"r","Username":"u","Secret":"` + strings.Repeat("x", MaxRequest) + `"}`, ""},
		{ActionGet, "a\nb", ""},
		{ActionGet, "a\x00b", ""},
		{ActionGet, "a b", ""},
		{ActionGet, strings.Repeat("r", MaxServerURL+1), ""},
		{ActionErase, "a\rb", ""},
		{"delete", "r", ""},
		{"", "r", ""},
	}
	opened := false
	open := func(context.Context) (Store, error) {
		opened = true
		return NamedStore{B: backends.Checked(memory.New())}, nil
	}
	for _, c := range cases {
		opened = false
		var out bytes.Buffer
		err := Serve(context.Background(), c.action, strings.NewReader(c.in), &out, open)
		short := c.in
		if len(short) > 60 {
			short = short[:60]
		}
		switch {
		case err == nil:
			t.Errorf("%s %q: accepted", c.action, short)
		case !errors.Is(err, ErrBadRequest):
			t.Errorf("%s %q: %v, not a bad request", c.action, short, err)
		case c.msg != "" && err.Error() != c.msg:
			t.Errorf("%s %q: %q, want %q", c.action, short, err.Error(), c.msg)
		case strings.ContainsAny(err.Error(), "\n\x00"):
			t.Errorf("%s %q: message %q is not one line", c.action, short, err.Error())
		}
		if opened {
			t.Errorf("%s %q: the store was opened", c.action, short)
		}
		if out.Len() != 0 {
			t.Errorf("%s %q: printed %q", c.action, short, out.String())
		}
	}
}

// TestSecretNotInErrors: a damaged value is reported without its bytes.
func TestSecretNotInErrors(t *testing.T) {
	mem := backends.Checked(memory.New())
	mem.Set(context.Background(), "docker/r", []byte(`{"Username":"u","Secret":"hunter2",}`))
	_, err := serve(t, NamedStore{B: mem}, ActionGet, "r")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("get of a damaged value: %v", err)
	}
	if _, err := serve(t, NamedStore{B: mem}, ActionList, ""); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("list with a damaged value: %v", err)
	}
}

func TestEscapeServerURL(t *testing.T) {
	for _, url := range []string{"r", "https://index.docker.io/v1/", "a+b%c", ".", "..", "...", "a/./b", "é", "x@y:1/+2F"} {
		esc := EscapeServerURL(url)
		if err := backends.ValidateName(NamePrefix + esc); err != nil {
			t.Errorf("%q -> %q: %v", url, esc, err)
		}
		back, ok := UnescapeServerURL(esc)
		if !ok || back != url {
			t.Errorf("%q -> %q -> %q, %v", url, esc, back, ok)
		}
	}
	for _, bad := range []string{"a/b", "+2f", "+2", "+4", "%41", "+41"} {
		if url, ok := UnescapeServerURL(bad); ok {
			t.Errorf("%q unescaped to %q", bad, url)
		}
	}
}
