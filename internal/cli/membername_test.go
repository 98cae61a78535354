package cli

import "testing"

// kr vault init names you after your login; Windows logins carry a domain
// and may hold spaces, which member names cannot.
func TestMemberNameFrom(t *testing.T) {
	for in, want := range map[string]string{
		"alice":           "alice",
		`CORP\Jane Doe`:   "Jane-Doe",
		"runner":          "runner",
		"-x.":             "x",
		"":                "me",
		"日本":              "me",
		"a.b-c_d@e":       "a.b-c_d@e",
		"  lead  spaces ": "lead--spaces",
	} {
		if got := memberNameFrom(in); got != want {
			t.Errorf("memberNameFrom(%q) = %q, want %q", in, got, want)
		}
	}
}
