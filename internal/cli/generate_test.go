package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateCharsets(t *testing.T) {
	for _, name := range strings.Split(charsetNames, ", ") {
		alphabet, ok := charset(name)
		if !ok {
			t.Fatalf("charset %s unknown", name)
		}
		for _, n := range []int{1, 32, 1000} {
			v, err := generate(rand.Reader, n, alphabet)
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != n {
				t.Fatalf("%s: %d characters, want %d", name, len(v), n)
			}
			for _, c := range v {
				if strings.IndexByte(alphabet, c) < 0 {
					t.Fatalf("%s: %q is not in the charset", name, c)
				}
			}
		}
	}
	want := map[string]int{"alnum": 62, "alpha": 52, "digits": 10, "hex": 16, "base64url": 64, "ascii": 94}
	for name, n := range want {
		if a, _ := charset(name); len(a) != n || strings.ContainsRune(a, ' ') {
			t.Errorf("charset %s has %d characters (%q), want %d and no space", name, len(a), a, n)
		}
	}
	if _, ok := charset("emoji"); ok {
		t.Error("an unknown charset was accepted")
	}
}

// TestGenerateNoModuloBias feeds every byte value once, the 8 that a
// modulo would map onto the first 8 characters a second time first: with
// rejection sampling they are dropped and each of the 62 characters comes
// out exactly 4 times.
func TestGenerateNoModuloBias(t *testing.T) {
	var all []byte
	for i := 248; i < 256+248; i++ {
		all = append(all, byte(i))
	}
	alphabet, _ := charset("alnum")
	// length 248 asks for exactly the usable bytes; the reader has them
	// first, then more than the rest of the buffer needs.
	r := bytes.NewReader(append(all, make([]byte, 1024)...))
	v, err := generate(r, 248, alphabet)
	if err != nil {
		t.Fatal(err)
	}
	count := map[byte]int{}
	for _, c := range v {
		count[c]++
	}
	for i := 0; i < len(alphabet); i++ {
		if count[alphabet[i]] != 4 {
			t.Fatalf("%q came out %d times, want 4 (counts %v)", alphabet[i], count[alphabet[i]], count)
		}
	}
}

func TestGenerateDiffers(t *testing.T) {
	alphabet, _ := charset("alnum")
	a, _ := generate(rand.Reader, 32, alphabet)
	b, _ := generate(rand.Reader, 32, alphabet)
	if bytes.Equal(a, b) {
		t.Fatalf("two values are the same: %q", a)
	}
}

func TestPendingInput(t *testing.T) {
	if !pendingInput(strings.NewReader("x")) || pendingInput(strings.NewReader("")) {
		t.Error("readers in tests: wrong answer")
	}
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.WriteFile(full, []byte("value"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	for path, want := range map[string]bool{full: true, empty: false, os.DevNull: false} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := pendingInput(f); got != want {
			t.Errorf("pendingInput(%s) = %v, want %v", path, got, want)
		}
		f.Close()
	}

	// A pipe: with data, open with none yet (no waiting), closed empty.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if pendingInput(r) {
		t.Error("an open pipe with no data counts as data")
	}
	w.Write([]byte("v"))
	if !pendingInput(r) {
		t.Error("a pipe holding data counts as empty")
	}
	r.Close()
	w.Close()
	r, w, _ = os.Pipe()
	w.Close()
	if pendingInput(r) {
		t.Error("a pipe closed empty counts as data")
	}
	r.Close()
}

func TestSetGenerate(t *testing.T) {
	e := newTestEnv(t, "", false, nil)
	if code := e.run("set", "--generate", "gen/a"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, e.err.String())
	}
	if e.out.Len() != 0 || e.err.Len() != 0 {
		t.Fatalf("set --generate printed %q / %q", e.out.String(), e.err.String())
	}
	v, err := e.store.Get(context.Background(), "gen/a")
	if err != nil || len(v) != 32 {
		t.Fatalf("stored %q, %v; want 32 characters", v, err)
	}
	if code := e.run("set", "--generate", "--print", "--length", "8", "--charset", "digits", "gen/b"); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, e.err.String())
	}
	v, _ = e.store.Get(context.Background(), "gen/b")
	if e.out.String() != string(v) || len(v) != 8 || strings.Trim(string(v), "0123456789") != "" {
		t.Fatalf("printed %q, stored %q; want the same 8 digits", e.out.String(), v)
	}

	for _, args := range [][]string{
		{"set", "--generate", "--length", "0", "x"},
		{"set", "--generate", "--length", "4097", "x"},
		{"set", "--generate", "--charset", "emoji", "x"},
		{"set", "--length", "8", "x"},
		{"set", "--print", "x"},
	} {
		if code := e.run(args...); code != 2 {
			t.Errorf("kr %q: exit %d, want 2 (stderr %q)", args, code, e.err.String())
		}
	}

	// A value on stdin and --generate contradict each other.
	e = newTestEnv(t, "typed value", false, nil)
	if code := e.run("set", "--generate", "x"); code != 2 {
		t.Fatalf("--generate with stdin data: exit %d, want 2", code)
	}
	if names, _ := e.store.List(context.Background(), ""); len(names) != 0 {
		t.Fatalf("stored %q", names)
	}
}
