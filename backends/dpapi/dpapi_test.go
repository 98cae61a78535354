package dpapi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
	"github.com/kr-keyring/kr/internal/winetest/wintemp"
)

// fakeCreds is Credential Manager as kr uses it, enforcing the blob limit.
type fakeCreds struct {
	mu      sync.Mutex
	m       map[string][]byte
	written map[string]time.Time
}

func (f *fakeCreds) read(t string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.m[t]
	if !ok {
		return nil, errNoCred
	}
	return bytes.Clone(b), nil
}
func (f *fakeCreds) write(t, user string, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(b) > MaxBlob {
		panic("blob over the limit reached the store")
	}
	f.m[t] = bytes.Clone(b)
	f.written[t] = time.Now()
	return nil
}
func (f *fakeCreds) describe(prefix string) ([]credInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []credInfo
	for t := range f.m {
		if strings.HasPrefix(t, prefix) {
			out = append(out, credInfo{target: t, comment: writerComment, modified: f.written[t]})
		}
	}
	return out, nil
}
func (f *fakeCreds) remove(t string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[t]; !ok {
		return errNoCred
	}
	delete(f.m, t)
	return nil
}
func (f *fakeCreds) list(prefix string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for t := range f.m {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// xorSealer stands in for DPAPI: reversible and not the identity.
type xorSealer struct{}

func (xorSealer) seal(p []byte) ([]byte, error) {
	out := make([]byte, len(p))
	for i := range p {
		out[i] = p[i] ^ 0x5a
	}
	return out, nil
}
func (s xorSealer) unseal(p []byte) ([]byte, error) { return s.seal(p) }

func newFake(t *testing.T) (*Backend, *fakeCreds) {
	creds := &fakeCreds{m: map[string][]byte{}, written: map[string]time.Time{}}
	return newBackend("kr-test", filepath.Join(wintemp.Dir(t), "spill"), creds, xorSealer{}), creds
}

func TestConformanceFake(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backends.Backend { b, _ := newFake(t); return b })
}

func TestSpillBoundary(t *testing.T) {
	b, creds := newFake(t)
	ctx := context.Background()
	at := bytes.Repeat([]byte("a"), MaxBlob)
	over := bytes.Repeat([]byte("b"), MaxBlob+1)
	if err := b.Set(ctx, "at", at); err != nil {
		t.Fatal(err)
	}
	if err := b.Set(ctx, "over", over); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(creds.m["kr-test:at"], at) {
		t.Fatal("a 2560-byte value did not stay in the credential")
	}
	if !isRef(creds.m["kr-test:over"]) {
		t.Fatal("a 2561-byte value was not spilled")
	}
	files, _ := os.ReadDir(b.dir)
	if len(files) != 1 {
		t.Fatalf("%d spill files, want 1", len(files))
	}
	// Overwrite with a small value: the sealed file goes, after the write.
	if err := b.Set(ctx, "over", []byte("small")); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(b.dir); len(files) != 0 {
		t.Fatalf("old spill file left: %v", files)
	}
	// A value that looks like a reference is spilled, never taken for one.
	fake := ref{file: strings.Repeat("0", 32), sum: strings.Repeat("0", 64)}.encode()
	if err := b.Set(ctx, "tricky", fake); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "tricky"); err != nil || !bytes.Equal(got, fake) {
		t.Fatalf("reference-like value: %q, %v", got, err)
	}
	b.Set(ctx, "big", over)
	if err := b.Delete(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(b.dir); len(files) != 1 { // tricky's
		t.Fatalf("Delete left spill files: %d", len(files))
	}
}

func TestDamagedSpill(t *testing.T) {
	b, creds := newFake(t)
	ctx := context.Background()
	b.Set(ctx, "x", bytes.Repeat([]byte("x"), 4000))
	r, _ := decodeRef(creds.m["kr-test:x"])
	p := filepath.Join(b.dir, r.file)
	data, _ := os.ReadFile(p)
	data[10] ^= 1
	os.WriteFile(p, data, 0o600)
	if _, err := b.Get(ctx, "x"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged spill: %v", err)
	}
	os.Remove(p)
	if _, err := b.Get(ctx, "x"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing spill: %v", err)
	}
}

func FuzzDecodeRef(f *testing.F) {
	f.Add(ref{file: strings.Repeat("a", 32), sum: strings.Repeat("b", 64)}.encode())
	f.Add([]byte(refMarker + "../../x:y"))
	f.Add([]byte("plain value"))
	f.Fuzz(func(t *testing.T, blob []byte) {
		r, err := decodeRef(blob)
		if err != nil {
			return
		}
		if strings.ContainsAny(r.file, `/\.:`) || len(r.file) != 32 || !bytes.Equal(r.encode(), blob) {
			t.Fatalf("accepted %q as %+v", blob, r)
		}
	})
}

// brokenCreds is Credential Manager on which every call fails with err.
type brokenCreds struct{ err error }

func (b brokenCreds) read(t string) ([]byte, error)              { return nil, b.err }
func (b brokenCreds) write(t, user string, v []byte) error       { return b.err }
func (b brokenCreds) remove(t string) error                      { return b.err }
func (b brokenCreds) list(prefix string) ([]string, error)       { return nil, b.err }
func (b brokenCreds) describe(prefix string) ([]credInfo, error) { return nil, b.err }

// unwritableCreds reads and lists but refuses every write.
type unwritableCreds struct {
	*fakeCreds
	err error
}

func (u unwritableCreds) write(t, user string, v []byte) error { return u.err }

// TestErrorsNameTheOperation: an error says what kr was doing and with
// which name, and leaves naming the store to the caller, which knows which
// one it opened.
func TestErrorsNameTheOperation(t *testing.T) {
	boom := errors.New("boom")
	dir := filepath.Join(wintemp.Dir(t), "spill")
	b := newBackend("kr-test", dir, brokenCreds{boom}, xorSealer{})
	ctx := context.Background()
	_, getErr := b.Get(ctx, "db/prod")
	setErr := b.Set(ctx, "db/prod", []byte("v"))
	delErr := b.Delete(ctx, "db/prod")
	_, listErr := b.List(ctx, "")
	_, infoErr := b.ListInfo(ctx, "")
	readOnly := &fakeCreds{m: map[string][]byte{}, written: map[string]time.Time{}}
	writeErr := newBackend("kr-test", dir, unwritableCreds{readOnly, boom}, xorSealer{}).Set(ctx, "db/prod", []byte("v"))
	for _, c := range []struct {
		err  error
		want string
	}{
		{getErr, "get db/prod: boom"},
		{setErr, "set db/prod: read the old credential: boom"},
		{writeErr, "set db/prod: boom"},
		{delErr, "delete db/prod: boom"},
		{listErr, "list: boom"},
		{infoErr, "describe items: boom"},
	} {
		if c.err == nil || c.err.Error() != c.want || !errors.Is(c.err, boom) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}
