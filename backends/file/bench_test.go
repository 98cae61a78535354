package file

import (
	"context"
	"fmt"
	"testing"
)

func BenchmarkSet(b *testing.B) {
	v := newVault(b)
	ctx := context.Background()
	value := []byte("a 32-byte database password here")
	if err := v.Set(ctx, "warm", value); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := v.Set(ctx, fmt.Sprintf("bench/%d", i%100), value); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGet reads with the passphrase given: the identity is unwrapped
// on the first call (scrypt) and kept, as within one kr process.
func BenchmarkGet(b *testing.B) {
	v := newVault(b)
	ctx := context.Background()
	if err := v.Set(ctx, "db/prod", []byte("a 32-byte database password here")); err != nil {
		b.Fatal(err)
	}
	if _, err := v.Get(ctx, "db/prod"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Get(ctx, "db/prod"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists a vault of 10,000 secrets, each in a folder of its
// own: the cost per folder.
func BenchmarkList(b *testing.B) {
	benchList(b, "team%02d/app%03d/key", 50)
}

// BenchmarkListFlat lists 10,000 secrets in 100 folders: the cost per
// name.
func BenchmarkListFlat(b *testing.B) {
	benchList(b, "team%02d/key%03d", 100)
}

func benchList(b *testing.B, format string, folders int) {
	v := newVault(b)
	ctx := context.Background()
	for i := range 10_000 {
		if err := v.Set(ctx, fmt.Sprintf(format, i%folders, i/folders), []byte("v")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		names, err := v.List(ctx, "")
		if err != nil || len(names) != 10_000 {
			b.Fatalf("List: %d names, %v", len(names), err)
		}
	}
}
