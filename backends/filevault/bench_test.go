package filevault

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/internal/recipients"
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

// teamOf10k is a shared vault of 10,000 secrets in 100 folders, written
// straight to disk (no fsync) to keep the setup short.
func teamOf10k(b *testing.B) *team {
	tm := newTeam(b)
	// The record kr really keeps (recipients.json), read on every scope
	// lookup, as the CLI does.
	tm.v.opts.Accepted = &recipients.Record{Path: filepath.Join(b.TempDir(), "recipients.json")}
	if err := tm.v.opts.Accepted.Accept(tm.v.Dir(), tm.aliceK); err != nil {
		b.Fatal(err)
	}
	m, err := tm.v.manifest()
	if err != nil {
		b.Fatal(err)
	}
	w, err := tm.v.signer(context.Background(), m)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		name := fmt.Sprintf("team%02d/key%03d", i%100, i/100)
		p := tm.v.secretPath(name)
		if err := tm.v.makeDirs(filepath.Dir(p)); err != nil {
			b.Fatal(err)
		}
		// Signed as alice's kr signs them: the vault is signed.
		plain, err := w.plaintext(m, name, 1, m.Recipients, []byte("a 32-byte database password here"))
		if err != nil {
			b.Fatal(err)
		}
		ct, err := encryptTo(plain, m.Recipients)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, ct, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return tm
}

// BenchmarkAddRecipient10k adds a member to a vault of 10,000 secrets:
// every one is decrypted and re-encrypted to the new set, in one batch.
// Run with -benchtime=1x; BenchmarkReencryptPerFile10k is the baseline.
func BenchmarkAddRecipient10k(b *testing.B) {
	tm := teamOf10k(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		id, _ := age.GenerateX25519Identity()
		n, err := tm.v.AddRecipient(ctx, fmt.Sprintf("member%d", i), id.Recipient().String())
		if err != nil || n != 10_000 {
			b.Fatalf("AddRecipient = %d, %v", n, err)
		}
		i++
	}
}

// BenchmarkReencryptPerFile10k is the write path AddRecipient had before
// batching, on the same vault: per secret a Get (vault.json read again), an
// encryption and an atomic replace with its own two fsyncs and a scan of
// the directory for stale temp files.
func BenchmarkReencryptPerFile10k(b *testing.B) {
	tm := teamOf10k(b)
	ctx := context.Background()
	for b.Loop() {
		id, _ := age.GenerateX25519Identity()
		m, err := tm.v.manifest()
		if err != nil {
			b.Fatal(err)
		}
		next := append(slices.Clone(m.Recipients), id.Recipient().String())
		names, err := tm.v.List(ctx, "")
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range names {
			value, err := tm.v.Get(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			ct, err := encryptTo(format.SecretPlaintext(name, value), next)
			if err != nil {
				b.Fatal(err)
			}
			if err := writeAtomic(tm.v.secretPath(name), ct); err != nil {
				b.Fatal(err)
			}
		}
	}
}
