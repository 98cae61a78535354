package keychain

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
)

// fakeItems is the Keychain as kr uses it.
type fakeItems struct {
	mu    sync.Mutex
	m     map[[2]string][]byte
	label map[[2]string]string
	mdat  map[[2]string]time.Time
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
	f.label[[2]string{s, a}] = l
	f.mdat[[2]string{s, a}] = time.Now()
	return nil
}
func (f *fakeItems) describe(s string) ([]itemInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []itemInfo
	for k := range f.m {
		if k[0] == s {
			out = append(out, itemInfo{account: k[1], label: f.label[k], modified: f.mdat[k]})
		}
	}
	return out, nil
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
		return newBackend("kr-test", &fakeItems{m: map[[2]string][]byte{}, label: map[[2]string]string{}, mdat: map[[2]string]time.Time{}})
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

func TestParseDumpItems(t *testing.T) {
	dump := []byte(`keychain: "/Users/u/Library/Keychains/login.keychain-db"
version: 512
class: "genp"
attributes:
    0x00000007 <blob>="db/prod (kr)"
    "acct"<blob>="db/prod"
    "cdat"<timedate>=0x32303235303130313030303030305A00  "20250101000000Z\000"
    "mdat"<timedate>=0x32303236313132333135303430355A00  "20261123150405Z\000"
    "svce"<blob>="kr"
keychain: "/Users/u/Library/Keychains/login.keychain-db"
class: "genp"
attributes:
    0x00000007 <blob>="kr"
    "acct"<blob>="api/token"
    "mdat"<timedate>=<NULL>
    "svce"<blob>="kr"
`)
	items := parseDumpItems(dump, "kr")
	want := []itemInfo{
		{account: "db/prod", label: "db/prod (kr)", modified: time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)},
		{account: "api/token", label: "kr"},
	}
	if len(items) != len(want) {
		t.Fatalf("parseDumpItems = %+v", items)
	}
	for i := range want {
		if items[i].account != want[i].account || items[i].label != want[i].label || !items[i].modified.Equal(want[i].modified) {
			t.Errorf("item %d = %+v, want %+v", i, items[i], want[i])
		}
	}
	b := newBackend("kr", describedItems(items))
	infos, err := b.ListInfo(context.Background(), "")
	if err != nil || len(infos) != 2 || infos[1].Writer != "kr" || infos[0].Writer != "" {
		t.Fatalf("ListInfo = %+v, %v; want db/prod by kr, api/token unknown", infos, err)
	}
}

// describedItems is an itemStore that only describes.
type describedItems []itemInfo

func (d describedItems) get(s, a string) ([]byte, error)       { return nil, errNoItem }
func (d describedItems) set(s, a, l string, v []byte) error    { return nil }
func (d describedItems) remove(s, a string) error              { return errNoItem }
func (d describedItems) accounts(s string) ([]string, error)   { return nil, nil }
func (d describedItems) describe(s string) ([]itemInfo, error) { return d, nil }

// brokenItems is a Keychain on which every call fails with err.
type brokenItems struct{ err error }

func (b brokenItems) get(s, a string) ([]byte, error)       { return nil, b.err }
func (b brokenItems) set(s, a, l string, d []byte) error    { return b.err }
func (b brokenItems) remove(s, a string) error              { return b.err }
func (b brokenItems) accounts(s string) ([]string, error)   { return nil, b.err }
func (b brokenItems) describe(s string) ([]itemInfo, error) { return nil, b.err }

// TestErrorsNameTheOperation: an error says what kr was doing and with
// which name, and leaves naming the store to the caller, which knows which
// one it opened.
func TestErrorsNameTheOperation(t *testing.T) {
	boom := errors.New("boom")
	b := newBackend("kr-test", brokenItems{boom})
	ctx := context.Background()
	_, getErr := b.Get(ctx, "db/prod")
	setErr := b.Set(ctx, "db/prod", []byte("v"))
	delErr := b.Delete(ctx, "db/prod")
	_, listErr := b.List(ctx, "")
	_, infoErr := b.ListInfo(ctx, "")
	for _, c := range []struct {
		err  error
		want string
	}{
		{getErr, "get db/prod: boom"},
		{setErr, "set db/prod: boom"},
		{delErr, "delete db/prod: boom"},
		{listErr, "list: boom"},
		{infoErr, "describe items: boom"},
	} {
		if c.err == nil || c.err.Error() != c.want || !errors.Is(c.err, boom) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}
