// Package backendtest is the conformance suite every kr backend passes: the
// in-memory reference, the file vault and each OS store, run against the
// real thing.
package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// Factory returns a backend holding no secrets, private to the test (for a
// shared store such as a keyring, use a unique service per call).
type Factory func(t *testing.T) backends.Backend

// Options adjusts the suite for a slow store.
type Options struct {
	// Concurrency is the number of parallel writers in the concurrency
	// test; 0 means 8.
	Concurrency int
	// MaxNameLen, when set, is the longest name the store under test
	// takes (wine keeps credentials in registry keys of at most 255
	// characters; real Windows takes 32767). 0 means backends.MaxNameSize.
	MaxNameLen int
}

// Suite is the conformance suite for one store: each check is a method of
// its own, run as a subtest on a fresh backend, as restic's backend suite.
type Suite struct {
	New Factory
	Options
}

// Run runs the whole suite against the backends newBackend makes.
func Run(t *testing.T, newBackend Factory, opts ...Options) {
	s := &Suite{New: newBackend}
	if len(opts) > 0 {
		s.Options = opts[0]
	}
	s.Run(t)
}

// Run runs every check as a subtest.
func (s *Suite) Run(t *testing.T) {
	if s.Concurrency == 0 {
		s.Concurrency = 8
	}
	if s.MaxNameLen == 0 {
		s.MaxNameLen = backends.MaxNameSize
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(s, t) })
	}
}

// checks lists the suite's checks in the order they run.
var checks = []struct {
	name string
	run  func(*Suite, *testing.T)
}{
	{"SetGet", (*Suite).SetGet},
	{"Overwrite", (*Suite).Overwrite},
	{"GetMissing", (*Suite).GetMissing},
	{"Delete", (*Suite).Delete},
	{"ListSortedPrefix", (*Suite).ListSortedPrefix},
	{"ListInfo", (*Suite).ListInfo},
	{"EmptyStore", (*Suite).EmptyStore},
	{"BinaryValues", (*Suite).BinaryValues},
	{"EmptyValue", (*Suite).EmptyValue},
	{"NameCharacters", (*Suite).NameCharacters},
	{"InvalidNames", (*Suite).InvalidNames},
	{"LargeValue", (*Suite).LargeValue},
	{"TooBig", (*Suite).TooBig},
	{"CanceledContext", (*Suite).CanceledContext},
	{"ConcurrentWriters", (*Suite).ConcurrentWriters},
}

// fresh returns a new backend, wrapped as kr always uses one.
func (s *Suite) fresh(t *testing.T) backends.Backend { return backends.Checked(s.New(t)) }

// ctx bounds one check, so that a store that hangs fails the test instead.
func (s *Suite) ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// SetGet: a value reads back as stored.
func (s *Suite) SetGet(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	mustSet(t, c, b, "db/prod", []byte("s3cret"))
	mustGet(t, c, b, "db/prod", []byte("s3cret"))
}

// Overwrite: a second Set replaces the value and leaves one item.
func (s *Suite) Overwrite(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	mustSet(t, c, b, "token", []byte("first value, longer"))
	mustSet(t, c, b, "token", []byte("second"))
	mustGet(t, c, b, "token", []byte("second"))
	names := mustList(t, c, b, "")
	if !slices.Equal(names, []string{"token"}) {
		t.Fatalf("List after overwrite = %q, want [token]", names)
	}
}

// GetMissing: a name never stored is ErrNotFound.
func (s *Suite) GetMissing(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	_, err := b.Get(c, "no/such/secret")
	if !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
	}
}

// Delete: Delete removes one name, and a second Delete is ErrNotFound.
func (s *Suite) Delete(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	mustSet(t, c, b, "a", []byte("1"))
	mustSet(t, c, b, "b", []byte("2"))
	if err := b.Delete(c, "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Get(c, "a"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get after Delete: err = %v, want ErrNotFound", err)
	}
	mustGet(t, c, b, "b", []byte("2"))
	if err := b.Delete(c, "a"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
	}
}

// ListSortedPrefix: List returns the names under a prefix, sorted, by whole prefix.
func (s *Suite) ListSortedPrefix(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	for _, n := range []string{"z", "app/b", "app/a", "app", "apple", "db/prod"} {
		mustSet(t, c, b, n, []byte("v-"+n))
	}
	if got, want := mustList(t, c, b, ""), []string{"app", "app/a", "app/b", "apple", "db/prod", "z"}; !slices.Equal(got, want) {
		t.Fatalf("List(\"\") = %q, want %q", got, want)
	}
	if got, want := mustList(t, c, b, "app/"), []string{"app/a", "app/b"}; !slices.Equal(got, want) {
		t.Fatalf("List(app/) = %q, want %q", got, want)
	}
	if got := mustList(t, c, b, "nothing"); len(got) != 0 {
		t.Fatalf("List(nothing) = %q, want none", got)
	}
}

// ListInfo: ListInfo names the same items as List, with a recent time and kr as writer where the store says.
func (s *Suite) ListInfo(t *testing.T) {
	raw, c := s.New(t), s.ctx(t)
	b := backends.Checked(raw)
	// Stores keep times in whole seconds, and a clock may be a little off.
	from := time.Now().Add(-time.Minute)
	for _, n := range []string{"app/b", "app/a", "apple"} {
		mustSet(t, c, b, n, []byte("v-"+n))
	}
	infos, err := backends.ListInfo(c, b, "app/")
	if err != nil {
		t.Fatalf("ListInfo(app/): %v", err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	if want := []string{"app/a", "app/b"}; !slices.Equal(names, want) {
		t.Fatalf("ListInfo(app/) names = %q, want %q", names, want)
	}
	if _, ok := raw.(backends.Lister); !ok {
		return // the store describes nothing: names alone
	}
	to := time.Now().Add(time.Minute)
	for _, in := range infos {
		if in.Modified.Before(from) || in.Modified.After(to) {
			t.Errorf("ListInfo: %s modified %v, want about now", in.Name, in.Modified)
		}
		// "" where the store cannot mark kr's items (the Keychain
		// through /usr/bin/security), never another tool's name.
		if in.Writer != "kr" && in.Writer != "" {
			t.Errorf("ListInfo: %s written by %q, want kr", in.Name, in.Writer)
		}
	}
}

// EmptyStore: a new store lists nothing.
func (s *Suite) EmptyStore(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	if got := mustList(t, c, b, ""); len(got) != 0 {
		t.Fatalf("List on a new store = %q, want none", got)
	}
}

// BinaryValues: every byte value survives, NUL and invalid UTF-8 included.
func (s *Suite) BinaryValues(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	all := make([]byte, 512)
	for i := range all {
		all[i] = byte(i)
	}
	cases := map[string][]byte{
		"bin/all-bytes": all,
		"bin/nul":       {0},
		"bin/newlines":  []byte("line1\nline2\r\n\n"),
		"bin/utf8":      []byte("pässwörd ✓ 密码"),
		"bin/invalid":   {0xff, 0xfe, 0x80, 0xc3},
		"bin/padding":   bytes.Repeat([]byte{16}, 32), // looks like PKCS#7 padding
	}
	for n, v := range cases {
		mustSet(t, c, b, n, v)
	}
	for n, v := range cases {
		mustGet(t, c, b, n, v)
	}
}

// EmptyValue: an empty value is a value, not a missing one.
func (s *Suite) EmptyValue(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	mustSet(t, c, b, "empty", []byte{})
	mustGet(t, c, b, "empty", []byte{})
}

// NameCharacters: every character a name may hold, and the longest name, round-trip.
func (s *Suite) NameCharacters(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	names := []string{
		"a.b_c-d/e@f+g:h",
		"user@example.com",
		"x",
		strings.Repeat("n", s.MaxNameLen),
		"A/B/C/D/E/F",
		"with:colon",
	}
	for i, n := range names {
		mustSet(t, c, b, n, []byte(fmt.Sprint("value ", i)))
	}
	for i, n := range names {
		mustGet(t, c, b, n, []byte(fmt.Sprint("value ", i)))
	}
	got := mustList(t, c, b, "")
	want := slices.Clone(names)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}

// InvalidNames: invalid names are ErrInvalidName for Set, Get and Delete, and leave nothing.
func (s *Suite) InvalidNames(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	for _, n := range []string{"", "../x", "a//b", "/a", "a/", ".", "a/./b", "a/../b",
		strings.Repeat("n", backends.MaxNameSize+1), "tab\there", "nl\n", "nul\x00", "sp ace", "é"} {
		if err := b.Set(c, n, []byte("v")); !errors.Is(err, backends.ErrInvalidName) {
			t.Errorf("Set(%q): err = %v, want ErrInvalidName", n, err)
		}
		if _, err := b.Get(c, n); !errors.Is(err, backends.ErrInvalidName) {
			t.Errorf("Get(%q): err = %v, want ErrInvalidName", n, err)
		}
		if err := b.Delete(c, n); !errors.Is(err, backends.ErrInvalidName) {
			t.Errorf("Delete(%q): err = %v, want ErrInvalidName", n, err)
		}
	}
	if got := mustList(t, c, b, ""); len(got) != 0 {
		t.Fatalf("invalid names left items behind: %q", got)
	}
}

// LargeValue: a MaxValueSize value round-trips, and a small one replaces it.
func (s *Suite) LargeValue(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	v := make([]byte, backends.MaxValueSize)
	for i := range v {
		v[i] = byte(i*7 + i>>8)
	}
	mustSet(t, c, b, "large", v)
	mustGet(t, c, b, "large", v)
	mustSet(t, c, b, "large", []byte("small again"))
	mustGet(t, c, b, "large", []byte("small again"))
}

// TooBig: a value over MaxValueSize is ErrTooBig and the old value stays.
func (s *Suite) TooBig(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	mustSet(t, c, b, "keep", []byte("old"))
	err := b.Set(c, "keep", make([]byte, backends.MaxValueSize+1))
	if !errors.Is(err, backends.ErrTooBig) {
		t.Fatalf("Set of MaxValueSize+1 bytes: err = %v, want ErrTooBig", err)
	}
	mustGet(t, c, b, "keep", []byte("old"))
}

// CanceledContext: a canceled context ends Set promptly, having stored nothing.
func (s *Suite) CanceledContext(t *testing.T) {
	b := s.fresh(t)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- b.Set(c, "never", []byte("v")) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("Set with a canceled context succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Set with a canceled context did not return within 5s")
	}
	if _, err := b.Get(s.ctx(t), "never"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get after canceled Set: err = %v, want ErrNotFound", err)
	}
}

// ConcurrentWriters: parallel Sets of different names all land.
func (s *Suite) ConcurrentWriters(t *testing.T) {
	b, c := s.fresh(t), s.ctx(t)
	var wg sync.WaitGroup
	errs := make(chan error, s.Concurrency)
	for i := range s.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- b.Set(c, fmt.Sprintf("conc/%02d", i), []byte(fmt.Sprint("value ", i)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Set: %v", err)
		}
	}
	for i := range s.Concurrency {
		mustGet(t, c, b, fmt.Sprintf("conc/%02d", i), []byte(fmt.Sprint("value ", i)))
	}
	if got := mustList(t, c, b, "conc/"); len(got) != s.Concurrency {
		t.Fatalf("List after %d concurrent writes = %d names", s.Concurrency, len(got))
	}
}

func mustSet(t *testing.T, ctx context.Context, b backends.Backend, name string, v []byte) {
	t.Helper()
	if err := b.Set(ctx, name, v); err != nil {
		t.Fatalf("Set(%q): %v", name, err)
	}
}

func mustGet(t *testing.T, ctx context.Context, b backends.Backend, name string, want []byte) {
	t.Helper()
	got, err := b.Get(ctx, name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	if !bytes.Equal(got, want) {
		if len(got) > 64 || len(want) > 64 {
			t.Fatalf("Get(%q): got %d bytes, want %d bytes (contents differ)", name, len(got), len(want))
		}
		t.Fatalf("Get(%q) = %q, want %q", name, got, want)
	}
}

func mustList(t *testing.T, ctx context.Context, b backends.Backend, prefix string) []string {
	t.Helper()
	names, err := b.List(ctx, prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}
