package filevault

import (
	"context"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

func keys(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, id.Recipient().String())
	}
	return out
}

func TestMergeScope(t *testing.T) {
	tm := newTeam(t)
	k := keys(t, 3)
	a, b, c := k[0], k[1], k[2]
	scope := func(ks ...string) []byte { return format.FormatScope("ops", ks, nil) }
	rel := secretsDir + "/ops/" + scopeFile
	r := tm.v.Resolver()
	for _, tc := range []struct {
		name                  string
		base, upstream, local []byte
		want                  []string // nil: file removed
	}{
		{"add on both", scope(a), scope(a, b), scope(a, c), []string{a, b, c}},
		{"removal wins", scope(a, b), scope(a, b, c), scope(a), []string{a, c}},
		{"deleted upstream, changed here", scope(a, b), nil, scope(a), []string{a}},
		{"changed upstream, deleted here", scope(a, b), scope(b), nil, []string{b}},
		{"both added", nil, scope(a), scope(b), []string{a, b}},
		{"both deleted", scope(a), nil, nil, nil},
	} {
		out, err := r.Merge(rel, tc.base, tc.upstream, tc.local)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.want == nil {
			if out != nil {
				t.Fatalf("%s: %q, want removed", tc.name, out)
			}
			continue
		}
		got, err := format.ParseScope(out)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := r.Merge(rel, scope(a, b), scope(a), scope(b)); err == nil {
		t.Fatal("merged a scope down to nobody")
	}
}

func TestResolverPaths(t *testing.T) {
	r := Resolver{}
	for _, tc := range []struct {
		rel                string
		mergeable, secrets bool
	}{
		{"vault.json", true, false},
		{"secrets/ops/.age-recipients", true, false},
		{"secrets/db/pass.age", false, true},
		{"secrets/.kr-tmp-1234", false, false},
		{"README.md", false, false},
		{"identity.age", false, false},
	} {
		if r.Mergeable(tc.rel) != tc.mergeable || r.Secret(tc.rel) != tc.secrets {
			t.Errorf("%s: Mergeable %v Secret %v", tc.rel, r.Mergeable(tc.rel), r.Secret(tc.rel))
		}
	}
	got, err := r.ConflictPath("secrets/DB/%50ass.age", 2)
	if err == nil {
		t.Fatalf("non-canonical path accepted: %s", got)
	}
	got, err = r.ConflictPath("secrets/"+format.EscapeName("DB/Pass")+".age", 2)
	if err != nil || got != "secrets/"+format.EscapeName("DB/Pass.conflict-2")+".age" {
		t.Fatalf("ConflictPath = %q, %v", got, err)
	}
	if _, err := r.ConflictPath("secrets/"+format.EscapeName(strings.Repeat("x", 256))+".age", 1); err == nil {
		t.Fatal("a copy name over the limit")
	}
}

// Two clones that re-encrypted the same value made the same secret; a
// changed value, or one the local keys cannot open, is a conflict.
func TestResolverSame(t *testing.T) {
	ctx := context.Background()
	tm := newTeam(t)
	m, err := tm.v.manifest()
	if err != nil {
		t.Fatal(err)
	}
	seal := func(name, value string, keys ...string) []byte {
		ct, err := encryptTo(format.SecretPlaintext(name, []byte(value)), keys)
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	a1 := seal("x", "v", m.Recipients...)
	a2 := seal("x", "v", tm.aliceK, tm.bobK)
	r := tm.v.Resolver()
	if !r.Same(ctx, "secrets/x.age", a1, a2) {
		t.Fatal("one value encrypted twice is not the same")
	}
	if r.Same(ctx, "secrets/x.age", a1, seal("x", "w", tm.aliceK)) {
		t.Fatal("two values are the same")
	}
	if r.Same(ctx, "secrets/x.age", a1, seal("y", "v", tm.aliceK)) {
		t.Fatal("two names are the same")
	}
	if r.Same(ctx, "secrets/x.age", a1, seal("x", "v", tm.bobK)) {
		t.Fatal("a file alice cannot open is the same")
	}
}
