package execenv

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// maskWhole is the reference: replace every secret in one buffer,
// leftmost first, longest first at a position.
func maskWhole(data []byte, secrets [][]byte) []byte {
	var out []byte
	for i := 0; i < len(data); {
		best := 0
		for _, s := range secrets {
			if len(s) >= MinMaskLen && len(s) > best && bytes.HasPrefix(data[i:], s) {
				best = len(s)
			}
		}
		if best > 0 {
			out = append(out, Concealed...)
			i += best
			continue
		}
		out = append(out, data[i])
		i++
	}
	return out
}

func feed(t testing.TB, data []byte, secrets [][]byte, cuts []int) []byte {
	var out bytes.Buffer
	m, ws := NewMasker(secrets, &out)
	prev := 0
	for _, c := range cuts {
		if c > prev && c <= len(data) {
			ws[0].Write(data[prev:c])
			prev = c
		}
	}
	ws[0].Write(data[prev:])
	m.Close()
	return out.Bytes()
}

func TestMaskSplitWrites(t *testing.T) {
	secret := []byte("hunter2-the-password")
	data := []byte("before hunter2-the-password middle hunter2-the-passwor end\x00\xff binary hunter2-the-password")
	want := maskWhole(data, [][]byte{secret})
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		var cuts []int
		for range rng.IntN(20) {
			cuts = append(cuts, rng.IntN(len(data)+1))
		}
		cuts = append(cuts, 0)
		sortInts(cuts)
		if got := feed(t, data, [][]byte{secret}, cuts); !bytes.Equal(got, want) {
			t.Fatalf("cuts %v: got %q, want %q", cuts, got, want)
		}
	}
	// One byte per write.
	var cuts []int
	for i := range data {
		cuts = append(cuts, i)
	}
	if got := feed(t, data, [][]byte{secret}, cuts); !bytes.Equal(got, want) {
		t.Fatalf("byte by byte: got %q", got)
	}
}

func TestMaskAcrossStreams(t *testing.T) {
	var out, errOut bytes.Buffer
	m, ws := NewMasker([][]byte{[]byte("s3cret-value")}, &out, &errOut)
	ws[0].Write([]byte("out: s3cr"))
	ws[1].Write([]byte("et-value :err\n"))
	ws[0].Write([]byte(" more\n"))
	m.Close()
	all := out.String() + errOut.String()
	for _, part := range []string{"s3cr", "et-value", "cret"} {
		if strings.Contains(all, part) {
			t.Fatalf("a part of the secret leaked: stdout %q stderr %q", out.String(), errOut.String())
		}
	}
	if out.String() != "out: "+Concealed+" more\n" || errOut.String() != " :err\n" {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

func TestMaskOverlapAndShort(t *testing.T) {
	secrets := [][]byte{[]byte("abcd"), []byte("abcdefgh"), []byte("xyz")}
	data := []byte("abcdefgh abcd abcdefg xyz")
	got := feed(t, data, secrets, []int{1, 2, 3, 4, 5, 6, 7})
	want := Concealed + " " + Concealed + " " + Concealed + "efg xyz"
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A truncated secret at the end is concealed too.
	if got := feed(t, []byte("tail abcdefg"), [][]byte{[]byte("abcdefgh")}, nil); string(got) != "tail "+Concealed {
		t.Fatalf("truncated tail: %q", got)
	}
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("a secret here"), []byte("secret"), []byte("here"), uint64(1))
	f.Add([]byte("aaaaab"), []byte("aaab"), []byte("aab"), uint64(7))
	f.Fuzz(func(t *testing.T, data, s1, s2 []byte, seed uint64) {
		secrets := [][]byte{s1, s2}
		rng := rand.New(rand.NewPCG(seed, 0))
		var cuts []int
		for range rng.IntN(10) {
			cuts = append(cuts, rng.IntN(len(data)+1))
		}
		sortInts(cuts)
		got := feed(t, data, secrets, cuts)
		whole := feed(t, data, secrets, nil)
		if !bytes.Equal(got, whole) {
			t.Fatalf("split writes %v changed the output: %q vs %q", cuts, got, whole)
		}
		// Between markers is the child's own output: no secret may stand
		// there whole (a marker's "<" or ">" next to data is not a leak).
		if bytes.Contains(data, []byte(Concealed)) {
			return
		}
		for _, piece := range bytes.Split(got, []byte(Concealed)) {
			for _, s := range secrets {
				if len(s) >= MinMaskLen && bytes.Contains(piece, s) {
					t.Fatalf("secret %q survives in %q", s, got)
				}
			}
		}
	})
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
