package format

import (
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
	m := &Manifest{Version: SharedVersion, Names: map[string]string{}}
	for _, k := range order {
		m.Recipients = append(m.Recipients, k)
		m.Names[k] = members[k]
	}
	b, err := m.Marshal()
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
	out, err := MergeManifest(base, up, local)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(out)
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
	out, err = MergeManifest(base, manifestOf(t, map[string]string{a: "alice", c: long}, a, c), manifestOf(t, map[string]string{a: "alice", d: long}, a, d))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ParseManifest(out); err != nil || !slices.Equal(m.Recipients, []string{a, c, d}) || m.Names[d] != "" || m.Names[c] != long {
		t.Fatalf("long-name clash: %+v, %v", m, err)
	}
	// Removed on both sides, added on neither: gone; a deleted vault.json
	// and a changed format are errors, never a guess.
	if out, err := MergeManifest(base, manifestOf(t, names, a), manifestOf(t, names, a)); err != nil || !strings.Contains(string(out), a) || strings.Contains(string(out), b) {
		t.Fatalf("both removed bob: %s, %v", out, err)
	}
	if _, err := MergeManifest(base, nil, local); err == nil {
		t.Fatal("merged a deleted vault.json")
	}
	if _, err := MergeManifest(base, base, []byte("{")); err == nil {
		t.Fatal("merged a damaged vault.json")
	}
	if _, err := MergeManifest(base, manifestOf(t, names, b), manifestOf(t, names, a)); err == nil {
		t.Fatal("merged to no recipient at all")
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
		out, err := MergeManifest(base, upstream, local)
		if err != nil {
			return
		}
		m, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("merged vault.json does not parse: %v\n%s", err, out)
		}
		u, _ := ParseManifest(upstream)
		l, _ := ParseManifest(local)
		var b *Manifest
		if base != nil {
			b, _ = ParseManifest(base)
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
