package vaultgit

import "testing"

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"origin": "origin",
		"fatal: unable to access 'https://bob:tok3n@example.com/x.git/': 403": "fatal: unable to access 'https://bob:***@example.com/x.git/': 403",
		"https://bob@example.com/x.git":                                       "https://bob@example.com/x.git",
		"ssh://git@example.com:22/x.git":                                      "ssh://git@example.com:22/x.git",
		"https://:tok@h/a and https://u:p@h/b":                                "https://:***@h/a and https://u:***@h/b",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnexact(t *testing.T) {
	for in, want := range map[string]string{
		".lock":        ".loc[k]",
		"**/.kr-tmp-*": "**/.kr-tmp-*",
		"a/b.ä":        "a/b[.]ä",
		"ä":            "ä",
		"dir/":         "dir/",
		"x[1]":         "x[1]",
	} {
		if got := unexact(in); got != want {
			t.Errorf("unexact(%q) = %q, want %q", in, got, want)
		}
	}
}
