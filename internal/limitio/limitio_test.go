package limitio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte("12345"), 0o600)
	if b, err := ReadFile(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	if _, err := ReadFile(p, 4); err == nil {
		t.Fatal("over the limit: no error")
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), 4); !os.IsNotExist(err) {
		t.Fatalf("missing: %v", err)
	}
}

// recordingReader serves n bytes of 'x' and keeps what it filled.
type recordingReader struct {
	n      int
	filled [][]byte
	err    error // returned once n bytes are served, instead of io.EOF
}

func (r *recordingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	r.n -= k
	r.filled = append(r.filled, p[:k])
	return k, nil
}

// TestReadWipesOnFailure: what was read before a failure (over the limit,
// or a read error) is wiped, in every buffer Read filled, for Read serves
// decryptions too (io.ReadAll leaves its chunks behind).
func TestReadWipesOnFailure(t *testing.T) {
	for _, r := range []*recordingReader{{n: 1000}, {n: 10, err: errors.New("damaged")}} {
		limit := int64(999)
		if r.err != nil {
			limit = 100
		}
		if _, err := Read(r, "plaintext", limit); err == nil {
			t.Fatal("no error")
		}
		for _, f := range r.filled {
			if bytes.ContainsRune(f, 'x') {
				t.Errorf("read error %v: a buffer still holds what was read", r.err)
				break
			}
		}
	}
}

// TestReadGrows: a reader served in small pieces gives back every byte,
// through the buffers Read grows, and fails one byte past the limit.
func TestReadGrows(t *testing.T) {
	data := make([]byte, 300001)
	rand.Read(data)
	b, err := Read(iotest.HalfReader(bytes.NewReader(data)), "data", int64(len(data)))
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("at the limit: %d bytes, %v", len(b), err)
	}
	if _, err := Read(bytes.NewReader(data), "data", int64(len(data)-1)); err == nil {
		t.Fatal("past the limit: no error")
	}
	if b, err := Read(bytes.NewReader(nil), "data", 0); err != nil || len(b) != 0 {
		t.Fatalf("empty at limit 0: %q, %v", b, err)
	}
}

func TestReadTooLarge(t *testing.T) {
	_, err := Read(strings.NewReader("12345"), "input", 4)
	if !errors.Is(err, ErrTooLarge) || err.Error() != "input is larger than 4 bytes" {
		t.Fatalf("over the limit: %v", err)
	}
}
