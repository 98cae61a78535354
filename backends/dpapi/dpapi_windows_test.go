//go:build windows

package dpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
	"github.com/kr-keyring/kr/internal/winetest/wintemp"
)

// newReal opens the real Credential Manager under a fresh service, and
// removes what it stored when the test ends.
func newReal(t *testing.T) *Backend {
	var rnd [6]byte
	rand.Read(rnd[:])
	service := "kr-test-" + hex.EncodeToString(rnd[:])
	b, err := Open(context.Background(), Options{Service: service, Dir: filepath.Join(wintemp.Dir(t), "spill")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		names, _ := b.List(context.Background(), "")
		for _, n := range names {
			b.Delete(context.Background(), n)
		}
	})
	return b
}

func TestConformanceCredentialManager(t *testing.T) {
	opts := backendtest.Options{Concurrency: 4}
	if os.Getenv("WINEPREFIX") != "" {
		// Wine files credentials under registry keys of at most 255
		// characters, part of them its own prefix: 200 is what passes.
		opts.MaxNameLen = 200
	}
	backendtest.Run(t, func(t *testing.T) backends.Backend { return newReal(t) }, opts)
}

func TestBoundaryCredentialManager(t *testing.T) {
	b := newReal(t)
	ctx := context.Background()
	for _, n := range []int{10, MaxBlob, MaxBlob + 1, 4000, backends.MaxValueSize} {
		v := bytes.Repeat([]byte{byte(n)}, n)
		if err := b.Set(ctx, "size", v); err != nil {
			t.Fatalf("Set %d bytes: %v", n, err)
		}
		raw, err := b.creds.read(b.target("size"))
		if err != nil {
			t.Fatal(err)
		}
		if spilled := isRef(raw); spilled != (n > MaxBlob) {
			t.Fatalf("%d bytes: spilled=%v", n, spilled)
		}
		got, err := b.Get(ctx, "size")
		if err != nil || !bytes.Equal(got, v) {
			t.Fatalf("Get %d bytes: %d bytes, %v", n, len(got), err)
		}
	}
	if err := b.Delete(ctx, "size"); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(b.dir); len(files) != 0 {
		t.Fatalf("spill files left after Delete: %d", len(files))
	}
}

// TestGoKeyringInterop: what zalando/go-keyring stores, kr reads, and the
// other way round.
func TestGoKeyringInterop(t *testing.T) {
	b := newReal(t)
	ctx := context.Background()
	if err := keyring.Set(b.service, "from/gokeyring", "gk value ✓"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "from/gokeyring"); err != nil || string(got) != "gk value ✓" {
		t.Fatalf("kr read go-keyring's item: %q, %v", got, err)
	}
	if err := b.Set(ctx, "from/kr", []byte("kr value")); err != nil {
		t.Fatal(err)
	}
	if got, err := keyring.Get(b.service, "from/kr"); err != nil || got != "kr value" {
		t.Fatalf("go-keyring read kr's item: %q, %v", got, err)
	}
	names, err := b.List(ctx, "from/")
	if err != nil || len(names) != 2 {
		t.Fatalf("List = %q, %v", names, err)
	}
	// ls -l: kr's credential carries its comment, go-keyring's none.
	infos, err := b.ListInfo(ctx, "from/")
	if err != nil || len(infos) != 2 {
		t.Fatalf("ListInfo = %+v, %v", infos, err)
	}
	for _, in := range infos {
		want := map[string]string{"from/gokeyring": "", "from/kr": "kr"}[in.Name]
		if in.Writer != want || in.Modified.IsZero() {
			t.Errorf("ListInfo %s: writer %q, modified %v; want writer %q and a time", in.Name, in.Writer, in.Modified, want)
		}
	}
}
