package filevault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
)

// TestPlainPathsNeedNoUnescaping holds List's fast path to the slow one:
// every path List takes as its own name (each component a plainSegment,
// short enough) must be what unescapeName and ValidateName accept, as that
// same name.
func TestPlainPathsNeedNoUnescaping(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbcnoluprtxmz019.._-@+%~:"
	seg := func() string {
		n := r.IntN(6)
		if r.IntN(20) == 0 {
			n = 170 + r.IntN(20) // near maxPiece
		}
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	fast := 0
	for range 200_000 {
		segs := make([]string, 1+r.IntN(3))
		for i := range segs {
			segs[i] = seg()
			if r.IntN(8) == 0 {
				segs[i] = []string{"con", "nul", "com1", "lpt9", "aux.x", "x.age", "prn"}[r.IntN(7)]
			}
		}
		p := strings.Join(segs, "/")
		plain := len(p) <= backends.MaxNameSize
		for i, s := range segs {
			plain = plain && format.PlainSegment(s, i < len(segs)-1)
		}
		if !plain {
			continue
		}
		fast++
		name, err := format.UnescapeName(p)
		if err != nil || name != p || backends.ValidateName(name) != nil {
			t.Fatalf("%q is plain, but unescapeName = %q, %v; ValidateName: %v", p, name, err, backends.ValidateName(name))
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d plain paths generated: the test checks too little", fast)
	}
}

// TestListNamesThatNeedEscaping lists names whose files are escaped, split
// or kept beside plain ones, in plain and escaped folders alike.
func TestListNamesThatNeedEscaping(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	want := []string{"a/CON", "a/b", "a/con.x", "Db/x", "db/Prod", "db/prod", "db/x.age/y",
		strings.Repeat("a", 256), strings.Repeat("Q", 200) + "/z", "x:y/.z", "z"}
	for _, n := range want {
		if err := v.Set(ctx, n, []byte("v")); err != nil {
			t.Fatalf("Set %q: %v", n, err)
		}
	}
	got, err := v.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sorted := append([]string(nil), want...)
	slices.Sort(sorted)
	if strings.Join(got, "\n") != strings.Join(sorted, "\n") {
		t.Fatalf("List = %q\nwant %q", got, sorted)
	}
	if got, err := v.List(ctx, "db/"); err != nil || strings.Join(got, " ") != "db/Prod db/prod db/x.age/y" {
		t.Fatalf("List db/ = %q, %v", got, err)
	}
}

// TestListAllocations: listing costs a small, fixed number of allocations
// per name (the walk used to make 29).
func TestListAllocations(t *testing.T) {
	v := newVault(t)
	ctx := context.Background()
	const n = 400
	for i := range n {
		if err := v.Set(ctx, fmt.Sprintf("team%d/key%03d", i%4, i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := v.List(ctx, ""); err != nil { // the manifest is read once
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(5, func() {
		if names, err := v.List(ctx, ""); err != nil || len(names) != n {
			t.Fatalf("List: %d names, %v", len(names), err)
		}
	})
	if perName := allocs / n; perName > 3 {
		t.Fatalf("List made %.1f allocations per name, want at most 3", perName)
	}
}
