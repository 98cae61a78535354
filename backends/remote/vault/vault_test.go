package vault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/remote/vault/vaulttest"
)

// TestStoreAgainstCheckingServer reads and lists through the store and
// expects the checking server to have seen nothing Vault would refuse,
// while a KV v1 read and a write are caught by it.
func TestStoreAgainstCheckingServer(t *testing.T) {
	v := vaulttest.New("tok", "kv")
	v.Put("a/b", map[string]string{"password": "p"})
	v.Put("c", map[string]string{"x": "1", "y": "2"})
	srv := httptest.NewServer(v)
	defer srv.Close()
	env := map[string]string{"VAULT_TOKEN": "tok", "HOME": t.TempDir()}
	s, err := New(Options{URL: srv.URL + "/kv", Env: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := s.Get(ctx, "a/b"); err != nil || string(got) != "p" {
		t.Fatalf("Get a/b = %q, %v", got, err)
	}
	if got, err := s.Get(ctx, "c"); err != nil || string(got) != `{"x":"1","y":"2"}` {
		t.Fatalf("Get c = %q, %v", got, err)
	}
	if got, err := s.Get(ctx, "c/y"); err != nil || string(got) != "2" {
		t.Fatalf("Get c/y = %q, %v", got, err)
	}
	if _, err := s.Get(ctx, "a/none"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get a/none: %v", err)
	}
	names, err := s.List(ctx, "")
	if err != nil || strings.Join(names, ",") != "a/b,c" {
		t.Fatalf("List = %v, %v", names, err)
	}
	if errs := v.Violations(); len(errs) != 0 {
		t.Fatalf("violations: %v", errs)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/v1/kv/a/b"}, {"POST", "/v1/kv/data/a/b"}} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, nil)
		req.Header.Set("X-Vault-Token", "tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := len(v.Violations()); n != 2 {
		t.Fatalf("the server caught %d of 2 bad requests", n)
	}
}
