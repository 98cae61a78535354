package backends

import "testing"

func TestEscapeSegment(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "+",
		".":                           "+2E",
		"..":                          "+2E+2E",
		"...":                         "+2E+2E+2E",
		"a.b":                         "a.b",
		"https://index.docker.io/v1/": "https:+2F+2Findex.docker.io+2Fv1+2F",
		"a b+c%":                      "a+20b+2Bc+25",
		"пароль":                      "+D0+BF+D0+B0+D1+80+D0+BE+D0+BB+D1+8C",
	} {
		got := EscapeSegment(in)
		if got != want {
			t.Errorf("EscapeSegment(%q) = %q, want %q", in, got, want)
		}
		if err := ValidateName("x/" + got); err != nil {
			t.Errorf("%q is not a name segment: %v", got, err)
		}
		if back, ok := UnescapeSegment(got); !ok || back != in {
			t.Errorf("UnescapeSegment(%q) = %q, %v", got, back, ok)
		}
	}
	for _, bad := range []string{"+41", "+2e", "+2", "a+", "a/b", "a%20", "++"} {
		if s, ok := UnescapeSegment(bad); ok {
			t.Errorf("UnescapeSegment(%q) = %q, want a refusal", bad, s)
		}
	}
}

func FuzzEscapeSegment(f *testing.F) {
	for _, s := range []string{"", ".", "https://x/", "a+b", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeSegment(s)
		if err := ValidateName("x/" + e); err != nil && len(e) < 250 {
			t.Fatalf("%q escapes to %q, not a name segment: %v", s, e, err)
		}
		if back, ok := UnescapeSegment(e); !ok || back != s {
			t.Fatalf("round trip of %q: %q, %v", s, back, ok)
		}
	})
}
