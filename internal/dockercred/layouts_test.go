package dockercred

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

// fakeWinCred is Credential Manager's generic credentials in a map.
type fakeWinCred map[string]winCred

func (f fakeWinCred) list() ([]winCred, error) {
	var out []winCred
	for _, c := range f {
		c.Blob = nil
		out = append(out, c)
	}
	return out, nil
}
func (f fakeWinCred) read(t string) (winCred, error) {
	if c, ok := f[t]; ok {
		c.Blob = bytes.Clone(c.Blob) // the caller wipes its copy
		return c, nil
	}
	return winCred{}, errNoCred
}
func (f fakeWinCred) write(c winCred) error {
	c.Blob = bytes.Clone(c.Blob) // the caller wipes its own
	f[c.Target] = c
	return nil
}
func (f fakeWinCred) remove(t string) error {
	if _, ok := f[t]; !ok {
		return errNoCred
	}
	delete(f, t)
	return nil
}

// TestWinCredLayout: the credential docker-credential-wincred writes, and
// its lookup rules: exact target first, then the request's missing scheme,
// port or path taken from the target; never another host, and never a
// credential without docker's label.
func TestWinCredLayout(t *testing.T) {
	ctx := context.Background()
	f := fakeWinCred{}
	s := WinCredStore{api: f}
	if err := s.Add(ctx, Credentials{"https://registry.example:5000/v2", "alice", "pw"}); err != nil {
		t.Fatal(err)
	}
	want := winCred{Target: "https://registry.example:5000/v2", UserName: "alice", Blob: []byte("pw"), Label: "Docker Credentials"}
	if !reflect.DeepEqual(f[want.Target], want) {
		t.Fatalf("wrote %+v, want %+v", f[want.Target], want)
	}
	f["git:https://other.example"] = winCred{Target: "git:https://other.example", UserName: "x", Blob: []byte("y")}
	f["unlabelled.example"] = winCred{Target: "unlabelled.example", UserName: "x", Blob: []byte("y")}
	for q, found := range map[string]bool{
		"https://registry.example:5000/v2": true,
		"registry.example":                 true,
		"registry.example:5000":            true,
		"https://registry.example":         true,
		"http://registry.example:5000/v2":  false,
		"registry.example:5001":            false,
		"other.example":                    false,
		"unlabelled.example":               false,
		"registry.example.evil":            false,
	} {
		c, err := s.Get(ctx, q)
		switch {
		case found && (err != nil || c.Secret != "pw" || c.Username != "alice"):
			t.Errorf("get %s: %+v, %v", q, c, err)
		case !found && !errors.Is(err, backends.ErrNotFound):
			t.Errorf("get %s: %+v, %v; want not found", q, c, err)
		}
	}
	if m, _ := s.List(ctx); !reflect.DeepEqual(m, map[string]string{"https://registry.example:5000/v2": "alice"}) {
		t.Fatalf("list: %v", m)
	}
	if err := s.Add(ctx, Credentials{"r", "u", string(make([]byte, MaxWinCredBlob+1))}); !errors.Is(err, backends.ErrTooBig) {
		t.Fatalf("oversize blob: %v", err)
	}
	if err := s.Delete(ctx, "https://registry.example:5000/v2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "https://registry.example:5000/v2"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// fakeKeychain is internet passwords keyed by their address.
type fakeKeychain map[string]keychainItem

func key(q keychainItem) string {
	return fmt.Sprintf("%s|%s|%d|%s", q.Protocol, q.Server, q.Port, q.Path)
}
func (f fakeKeychain) add(it keychainItem) error {
	if _, ok := f[key(it)]; ok {
		return errors.New("duplicate item")
	}
	it.Data = bytes.Clone(it.Data) // the caller wipes its own
	f[key(it)] = it
	return nil
}
func (f fakeKeychain) find(q keychainItem) (keychainItem, error) {
	if it, ok := f[key(q)]; ok {
		it.Data = bytes.Clone(it.Data) // the caller wipes its copy
		return it, nil
	}
	return keychainItem{}, errNoCred
}
func (f fakeKeychain) remove(q keychainItem) error {
	if _, ok := f[key(q)]; !ok {
		return errNoCred
	}
	delete(f, key(q))
	return nil
}
func (f fakeKeychain) labelled(l string) ([]keychainItem, error) {
	var out []keychainItem
	for _, it := range f {
		if it.Label == l {
			it.Data = nil
			out = append(out, it)
		}
	}
	return out, nil
}

// TestKeychainLayout: the internet password docker-credential-osxkeychain
// writes for a URL, found by the same address only.
func TestKeychainLayout(t *testing.T) {
	ctx := context.Background()
	f := fakeKeychain{}
	s := KeychainStore{api: f}
	for _, c := range []Credentials{{"https://index.docker.io/v1/", "alice", "pw1"}, {"http://127.0.0.1:5000", "bob", "pw2"}} {
		if err := s.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Storing again replaces the item.
	if err := s.Add(ctx, Credentials{"index.docker.io/v1/", "alice", "pw3"}); err != nil {
		t.Fatal(err)
	}
	want := keychainItem{Protocol: "htps", Server: "index.docker.io", Path: "/v1/", Account: "alice", Data: []byte("pw3"), Label: "Docker Credentials"}
	if got := f[key(want)]; !reflect.DeepEqual(got, want) || len(f) != 2 {
		t.Fatalf("items %+v", f)
	}
	if c, err := s.Get(ctx, "http://127.0.0.1:5000"); err != nil || c.Secret != "pw2" {
		t.Fatalf("get: %+v, %v", c, err)
	}
	for _, q := range []string{"127.0.0.1:5000", "http://127.0.0.1:5001", "https://index.docker.io/v2/"} {
		if _, err := s.Get(ctx, q); !errors.Is(err, backends.ErrNotFound) {
			t.Errorf("get %s: %v, want not found", q, err)
		}
	}
	if _, err := s.Get(ctx, "ftp://x"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("ftp URL: %v", err)
	}
	m, _ := s.List(ctx)
	if !reflect.DeepEqual(m, map[string]string{"https://index.docker.io/v1/": "alice", "http://127.0.0.1:5000": "bob"}) {
		t.Fatalf("list: %v", m)
	}
}
