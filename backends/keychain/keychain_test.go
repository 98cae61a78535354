package keychain

import (
	"bytes"
	"encoding/base64"
	"slices"
	"sync"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
)

// fakeItems is the Keychain as kr uses it.
type fakeItems struct {
	mu sync.Mutex
	m  map[[2]string][]byte
}

func (f *fakeItems) get(s, a string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[[2]string{s, a}]
	if !ok {
		return nil, errNoItem
	}
	return bytes.Clone(v), nil
}
func (f *fakeItems) set(s, a, l string, d []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[[2]string{s, a}] = bytes.Clone(d)
	return nil
}
func (f *fakeItems) remove(s, a string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[[2]string{s, a}]; !ok {
		return errNoItem
	}
	delete(f.m, [2]string{s, a})
	return nil
}
func (f *fakeItems) accounts(s string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.m {
		if k[0] == s {
			out = append(out, k[1])
		}
	}
	return out, nil
}

func TestConformanceFake(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backends.Backend {
		return newBackend("kr-test", &fakeItems{m: map[[2]string][]byte{}})
	})
}

func TestGoKeyringEncodings(t *testing.T) {
	cases := map[string]string{
		"go-keyring-base64:" + base64.StdEncoding.EncodeToString([]byte("b64 value")): "b64 value",
		"go-keyring-encoded:68657820766171":                                           "hex vaq",
		"plain value":                                                                 "plain value",
	}
	for raw, want := range cases {
		if got, err := decodeValue([]byte(raw)); err != nil || string(got) != want {
			t.Errorf("decodeValue(%q) = %q, %v", raw, got, err)
		}
	}
	if _, err := decodeValue([]byte("go-keyring-base64:!!!")); err == nil {
		t.Error("a broken encoding decoded")
	}
	// A value that looks encoded survives a round trip.
	for _, v := range []string{"go-keyring-base64:not really", "go-keyring-encoded:zz", "x"} {
		if got, err := decodeValue(encodeValue([]byte(v))); err != nil || string(got) != v {
			t.Errorf("round trip of %q: %q, %v", v, got, err)
		}
	}
}

func TestParseDump(t *testing.T) {
	dump := []byte(`keychain: "/Users/u/Library/Keychains/login.keychain-db"
version: 512
class: "genp"
attributes:
    "acct"<blob>="db/prod"
    "svce"<blob>="kr"
keychain: "/Users/u/Library/Keychains/login.keychain-db"
class: "genp"
attributes:
    "acct"<blob>="other"
    "svce"<blob>="not-kr"
keychain: "/Users/u/Library/Keychains/login.keychain-db"
class: "inet"
attributes:
    "acct"<blob>="web"
    "svce"<blob>="kr"
keychain: "/Users/u/Library/Keychains/login.keychain-db"
class: "genp"
attributes:
    "acct"<blob>=<NULL>
    "svce"<blob>="kr"
keychain: "/Users/u/Library/Keychains/login.keychain-db"
class: "genp"
attributes:
    "svce"<blob>="kr"
    "acct"<blob>="api/token"
`)
	if got := parseDump(dump, "kr"); !slices.Equal(got, []string{"db/prod", "api/token"}) {
		t.Fatalf("parseDump = %q", got)
	}
}

func FuzzDecodeValue(f *testing.F) {
	f.Add([]byte("go-keyring-base64:aGk="))
	f.Add([]byte("go-keyring-encoded:6869"))
	f.Add([]byte("plain"))
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeValue(encodeValue(v))
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("round trip of %q: %q, %v", v, got, err)
		}
		decodeValue(v) // must not panic on anything stored by others
	})
}
