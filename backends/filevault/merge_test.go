package filevault

import (
	"context"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
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

func manifestOf(t *testing.T, members map[string]string, order ...string) []byte {
	t.Helper()
	m := &manifest{Version: sharedVersion, Names: map[string]string{}}
	for _, k := range order {
		m.Recipients = append(m.Recipients, k)
		m.Names[k] = members[k]
	}
	b, err := m.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vault.json merges by recipient: adds from both sides stay, a removal on
// either side wins, upstream's names win and a clash renames local's.
func TestMergeManifest(t *testing.T) {
	k := keys(t, 5)
	a, b, c, d, e := k[0], k[1], k[2], k[3], k[4]
	names := map[string]string{a: "alice", b: "bob", c: "carol", d: "dave", e: "carol"}
	base := manifestOf(t, names, a, b)
	up := manifestOf(t, names, a, b, c)    // upstream added carol
	local := manifestOf(t, names, a, d, e) // local removed bob, added dave and another "carol"
	out, err := Resolver{}.Merge(manifestFile, base, up, local)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Recipients, []string{a, c, d, e}) {
		t.Fatalf("recipients = %q", m.Recipients)
	}
	if m.Names[c] != "carol" || m.Names[e] != "carol-2" || m.Names[d] != "dave" {
		t.Fatalf("names = %v", m.Names)
	}
	// A clash on a name of the longest length: the local key stays,
	// unnamed, and vault.json stays readable.
	long := strings.Repeat("n", 64)
	out, err = Resolver{}.Merge(manifestFile, base, manifestOf(t, map[string]string{a: "alice", c: long}, a, c), manifestOf(t, map[string]string{a: "alice", d: long}, a, d))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := parseManifest(out); err != nil || !slices.Equal(m.Recipients, []string{a, c, d}) || m.Names[d] != "" || m.Names[c] != long {
		t.Fatalf("long-name clash: %+v, %v", m, err)
	}
	// Removed on both sides, added on neither: gone; a deleted vault.json
	// and a changed format are errors, never a guess.
	if out, err := (Resolver{}).Merge(manifestFile, base, manifestOf(t, names, a), manifestOf(t, names, a)); err != nil || !strings.Contains(string(out), a) || strings.Contains(string(out), b) {
		t.Fatalf("both removed bob: %s, %v", out, err)
	}
	if _, err := (Resolver{}).Merge(manifestFile, base, nil, local); err == nil {
		t.Fatal("merged a deleted vault.json")
	}
	if _, err := (Resolver{}).Merge(manifestFile, base, base, []byte("{")); err == nil {
		t.Fatal("merged a damaged vault.json")
	}
	if _, err := (Resolver{}).Merge(manifestFile, base, manifestOf(t, names, b), manifestOf(t, names, a)); err == nil {
		t.Fatal("merged to no recipient at all")
	}
}

func TestMergeScope(t *testing.T) {
	tm := newTeam(t)
	k := keys(t, 3)
	a, b, c := k[0], k[1], k[2]
	scope := func(ks ...string) []byte { return formatScope("ops", ks, nil) }
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
		got, err := parseScope(out)
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
	got, err = r.ConflictPath("secrets/"+escapeName("DB/Pass")+".age", 2)
	if err != nil || got != "secrets/"+escapeName("DB/Pass.conflict-2")+".age" {
		t.Fatalf("ConflictPath = %q, %v", got, err)
	}
	if _, err := r.ConflictPath("secrets/"+escapeName(strings.Repeat("x", 256))+".age", 1); err == nil {
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
		ct, err := encryptTo(secretPlaintext(name, []byte(value)), keys)
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

// Merge reads what other clones pushed: whatever the three inputs, it
// fails or returns a vault.json that parses and lists only keys one side
// lists, keeping every key both sides list and that no side removed.
func FuzzMergeManifest(f *testing.F) {
	k := []string{
		"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
		"age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg",
	}
	one := `{"version":2,"recipients":[{"name":"a","key":"` + k[0] + `"}]}`
	two := `{"version":2,"recipients":[{"name":"a","key":"` + k[0] + `"},{"name":"b","key":"` + k[1] + `"}]}`
	f.Add([]byte(one), []byte(two), []byte(one))
	f.Add([]byte(two), []byte(one), []byte(two))
	f.Add([]byte(""), []byte(two), []byte(`{"version":2,"recipients":["`+k[1]+`"]}`))
	f.Fuzz(func(t *testing.T, base, upstream, local []byte) {
		if len(base) == 0 {
			base = nil
		}
		out, err := Resolver{}.Merge(manifestFile, base, upstream, local)
		if err != nil {
			return
		}
		m, err := parseManifest(out)
		if err != nil {
			t.Fatalf("merged vault.json does not parse: %v\n%s", err, out)
		}
		u, _ := parseManifest(upstream)
		l, _ := parseManifest(local)
		var b *manifest
		if base != nil {
			b, _ = parseManifest(base)
		}
		for _, r := range m.Recipients {
			if !slices.Contains(u.Recipients, r) && !slices.Contains(l.Recipients, r) {
				t.Fatalf("merged in %s, which neither side lists", r)
			}
			if b != nil && slices.Contains(b.Recipients, r) && (!slices.Contains(u.Recipients, r) || !slices.Contains(l.Recipients, r)) {
				t.Fatalf("kept %s, which one side removed", r)
			}
		}
		for _, r := range u.Recipients {
			if slices.Contains(l.Recipients, r) && (b == nil || slices.Contains(b.Recipients, r)) && !slices.Contains(m.Recipients, r) {
				t.Fatalf("dropped %s, which both sides kept", r)
			}
		}
	})
}
