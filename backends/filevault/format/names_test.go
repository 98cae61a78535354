package format

import (
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

func TestEscapeName(t *testing.T) {
	cases := map[string]string{
		"db/prod":   "db/prod",
		"DB":        "%44%42",
		"a:b":       "a%3Ab",
		"con":       "%63on",
		"LPT1.txt":  "%4C%50%541.txt",
		"com0":      "com0",
		"a./b":      "a%2E/b",
		".hidden":   "%2Ehidden",
		"x.age/y":   "x%2Eage/y",
		"x.age":     "x.age",
		"u@h+t-_.z": "u@h+t-_.z",
	}
	for in, want := range cases {
		if got := EscapeName(in); got != want {
			t.Errorf("EscapeName(%q) = %q, want %q", in, got, want)
		}
		if back, err := UnescapeName(want); err != nil || back != in {
			t.Errorf("UnescapeName(%q) = %q, %v", want, back, err)
		}
	}
	for _, bad := range []string{"%4", "%zz", "a~/~b", "%44%42~/~x", "a%2fb", "%2F"} {
		if n, err := UnescapeName(bad); err == nil {
			t.Errorf("UnescapeName(%q) = %q, want an error", bad, n)
		}
	}
}

func TestLongNames(t *testing.T) {
	for _, name := range []string{strings.Repeat("a", 256), strings.Repeat("Z", 256), strings.Repeat("ab/", 85) + "c",
		strings.Repeat("a", 179) + "Bcd", strings.Repeat("a", 178) + "Bcd"} {
		e := EscapeName(name)
		for _, comp := range strings.Split(e, "/") {
			if len(comp)+len(SecretExt) > 255 || strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".") {
				t.Errorf("%q: component %q", name, comp)
			}
		}
		if back, err := UnescapeName(e); err != nil || back != name {
			t.Errorf("round trip of %q: %q, %v", name, back, err)
		}
	}
}

func FuzzEscapeName(f *testing.F) {
	for _, s := range []string{"db/prod", "DB", "con.txt", "a./b", ".x", "x.age/y", strings.Repeat("Z", 256), "a~/~b", "%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if backends.ValidateName(s) == nil {
			e := EscapeName(s)
			back, err := UnescapeName(e)
			if err != nil || back != s {
				t.Fatalf("round trip %q -> %q -> %q, %v", s, e, back, err)
			}
			for _, c := range strings.Split(e, "/") {
				if c == "" || strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".") || len(c)+len(SecretExt) > 255 || reservedOnWindows(c) {
					t.Fatalf("%q: unsafe component %q in %q", s, c, e)
				}
			}
		}
		// Whatever a directory holds, decoding either fails or gives the
		// one name that encodes back to it.
		if name, err := UnescapeName(s); err == nil {
			if EscapeName(name) != s {
				t.Fatalf("unescape(%q) = %q, which escapes to %q", s, name, EscapeName(name))
			}
			if !strings.Contains(s, "%") && strings.ToLower(s) != s {
				t.Fatalf("upper case survived escaping: %q", s)
			}
		}
	})
}
