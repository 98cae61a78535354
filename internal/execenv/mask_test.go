package execenv

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// write is one write of a program: to stream 0 (stdout) or 1 (stderr).
type write struct {
	stream int
	data   []byte
}

// maskWhole is the reference: the Masker's rule applied to the whole
// output at once. A byte is concealed when any occurrence of a secret
// covers it in its own stream or in the merged arrival order, or when it
// is in a trailing fragment of at least MinMaskLen bytes that begins a
// secret; each run of concealed bytes becomes one marker.
func maskWhole(writes []write, secrets [][]byte) [2][]byte {
	type tb struct {
		b         byte
		stream    int
		concealed bool
	}
	var all []*tb
	var own [2][]*tb
	for _, w := range writes {
		for _, b := range w.data {
			x := &tb{b: b, stream: w.stream}
			all = append(all, x)
			own[w.stream] = append(own[w.stream], x)
		}
	}
	cover := func(seq []*tb) {
		for i := range seq {
			for _, s := range secrets {
				if len(s) < MinMaskLen {
					continue
				}
				n := 0
				for n < len(s) && i+n < len(seq) && seq[i+n].b == s[n] {
					n++
				}
				if n == len(s) || (i+n == len(seq) && n >= MinMaskLen) {
					for _, x := range seq[i : i+n] {
						x.concealed = true
					}
				}
			}
		}
	}
	cover(all)
	cover(own[0])
	cover(own[1])
	var out [2][]byte
	for s := range own {
		run := false
		for _, x := range own[s] {
			switch {
			case !x.concealed:
				out[s] = append(out[s], x.b)
				run = false
			case !run:
				out[s] = append(out[s], Concealed...)
				run = true
			}
		}
	}
	return out
}

func feedWrites(writes []write, secrets [][]byte) [2][]byte {
	var outs [2]bytes.Buffer
	m, ws := NewMasker(secrets, &outs[0], &outs[1])
	for _, w := range writes {
		ws[w.stream].Write(w.data)
	}
	m.Close()
	return [2][]byte{outs[0].Bytes(), outs[1].Bytes()}
}

// splitWrites cuts data into writes at random points and to random streams
// (stream 0 only unless both).
func splitWrites(rng *rand.Rand, data []byte, maxCuts int, both bool) []write {
	var ws []write
	for len(data) > 0 {
		n := len(data)
		if rng.IntN(maxCuts+1) != 0 {
			n = 1 + rng.IntN(len(data))
		}
		s := 0
		if both {
			s = rng.IntN(2)
		}
		ws = append(ws, write{s, data[:n]})
		data = data[n:]
	}
	return ws
}

func TestMaskSplitWrites(t *testing.T) {
	secret := []byte("hunter2-the-password")
	data := []byte("before hunter2-the-password middle hunter2-the-passwor end\x00\xff binary hunter2-the-password")
	want := maskWhole([]write{{0, data}}, [][]byte{secret})
	if string(want[0]) != "before "+Concealed+" middle hunter2-the-passwor end\x00\xff binary "+Concealed {
		t.Fatalf("reference: %q", want[0])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		ws := splitWrites(rng, data, 20, false)
		if got := feedWrites(ws, [][]byte{secret}); !bytes.Equal(got[0], want[0]) || len(got[1]) != 0 {
			t.Fatalf("writes %v: got %q, want %q", ws, got[0], want[0])
		}
	}
	var ws []write
	for i := range data {
		ws = append(ws, write{0, data[i : i+1]})
	}
	if got := feedWrites(ws, [][]byte{secret}); !bytes.Equal(got[0], want[0]) {
		t.Fatalf("byte by byte: got %q", got[0])
	}
}

func TestMaskAcrossStreams(t *testing.T) {
	secrets := [][]byte{[]byte("s3cret-value")}
	got := feedWrites([]write{{0, []byte("out: s3cr")}, {1, []byte("et-value :err\n")}, {0, []byte(" more\n")}}, secrets)
	if string(got[0]) != "out: "+Concealed+" more\n" || string(got[1]) != Concealed+" :err\n" {
		t.Fatalf("split across streams: stdout %q stderr %q", got[0], got[1])
	}
	// A secret on one stream stays whole in that stream's view, whatever
	// the other stream writes in between.
	got = feedWrites([]write{{0, []byte("a s3cr")}, {1, []byte("progress 50%\n")}, {0, []byte("et-value b\n")}}, secrets)
	if string(got[0]) != "a "+Concealed+" b\n" || string(got[1]) != "progress 50%\n" {
		t.Fatalf("interleaved: stdout %q stderr %q", got[0], got[1])
	}
	// A held prefix on stdout does not hold stderr back.
	var outs [2]bytes.Buffer
	m, ws := NewMasker(secrets, &outs[0], &outs[1])
	ws[0].Write([]byte("prompt s3c"))
	ws[1].Write([]byte("log line\n"))
	if outs[0].String() != "prompt " || outs[1].String() != "log line\n" {
		t.Fatalf("while held: stdout %q stderr %q", outs[0].String(), outs[1].String())
	}
	ws[0].Write([]byte("ond\n"))
	m.Close()
	if outs[0].String() != "prompt s3cond\n" {
		t.Fatalf("disproved prefix: %q", outs[0].String())
	}
}

func TestMaskOverlapAndShort(t *testing.T) {
	secrets := [][]byte{[]byte("abcd"), []byte("abcdefgh"), []byte("xyz")}
	data := "abcdefgh abcd abcdefg xyz"
	got := feedWrites([]write{{0, []byte(data)}}, secrets)
	if want := Concealed + " " + Concealed + " " + Concealed + "efg xyz"; string(got[0]) != want {
		t.Fatalf("got %q, want %q", got[0], want)
	}
	// Overlapping occurrences of two secrets: no part of either shows.
	got = feedWrites([]write{{0, []byte("<abcdefghi>")}}, [][]byte{[]byte("abcdef"), []byte("defghi")})
	if string(got[0]) != "<"+Concealed+">" {
		t.Fatalf("overlap: %q", got[0])
	}
	// A truncated secret at the end is concealed too; a short fragment not.
	if got := feedWrites([]write{{0, []byte("tail abcdefg")}}, [][]byte{[]byte("abcdefgh")}); string(got[0]) != "tail "+Concealed {
		t.Fatalf("truncated tail: %q", got[0])
	}
	if got := feedWrites([]write{{0, []byte("tail abc")}}, [][]byte{[]byte("abcdefgh")}); string(got[0]) != "tail abc" {
		t.Fatalf("short tail: %q", got[0])
	}
	// No secret long enough: writes pass straight through.
	var out bytes.Buffer
	_, ws := NewMasker([][]byte{[]byte("ab")}, &out)
	if ws[0] != &out {
		t.Fatal("no maskable secret, but the writer was wrapped")
	}
}

func TestMaskRandomInterleaving(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab\n")
	for range 2000 {
		secrets := [][]byte{randBytes(rng, alphabet, 4+rng.IntN(4)), randBytes(rng, alphabet, 4+rng.IntN(6))}
		data := randBytes(rng, alphabet, rng.IntN(60))
		ws := splitWrites(rng, data, 8, true)
		got, want := feedWrites(ws, secrets), maskWhole(ws, secrets)
		if !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Fatalf("secrets %q writes %v:\ngot  %q\nwant %q", secrets, ws, got, want)
		}
	}
}

func randBytes(rng *rand.Rand, alphabet []byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return b
}

// FuzzMask checks the streaming masker against the whole-output reference
// for writes cut and spread over both streams by seed, and that no secret
// stands whole between markers in either stream's output.
func FuzzMask(f *testing.F) {
	f.Add([]byte("a secret here"), []byte("secret"), []byte("here"), uint64(1))
	f.Add([]byte("aaaaab"), []byte("aaab"), []byte("aab"), uint64(7))
	f.Fuzz(func(t *testing.T, data, s1, s2 []byte, seed uint64) {
		secrets := [][]byte{s1, s2}
		rng := rand.New(rand.NewPCG(seed, 0))
		ws := splitWrites(rng, data, 10, seed%3 != 0)
		got, want := feedWrites(ws, secrets), maskWhole(ws, secrets)
		if !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
			t.Fatalf("writes %v:\ngot  %q\nwant %q", ws, got, want)
		}
		if bytes.Contains(data, []byte(Concealed)) {
			return
		}
		for _, out := range got {
			for _, piece := range bytes.Split(out, []byte(Concealed)) {
				for _, s := range secrets {
					if len(s) >= MinMaskLen && bytes.Contains(piece, s) {
						t.Fatalf("secret %q survives in %q", s, out)
					}
				}
			}
		}
	})
}

func (w write) String() string {
	return []string{"out", "err"}[w.stream] + ":" + strings.Trim(fmtQ(w.data), `"`)
}

func fmtQ(b []byte) string { return strconv.Quote(string(b)) }

func BenchmarkMask(b *testing.B) {
	secrets := [][]byte{[]byte("hunter2-the-password"), []byte("AKIAIOSFODNN7EXAMPLE"), []byte("ghp_0123456789abcdefghijklmnopqrstuvwxyz")}
	chunk := bytes.Repeat([]byte("log line with some text, a hunter2 and a number 12345\n"), 600)
	b.SetBytes(int64(len(chunk)))
	m, ws := NewMasker(secrets, io.Discard, io.Discard)
	for b.Loop() {
		ws[0].Write(chunk)
	}
	m.Close()
}
