package backends

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"a", "db/prod", "a.b_c-d/e@f+g:h", "..a", "a..", "a/.b", strings.Repeat("x", 256)}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "../x", "a//b", "/a", "a/", ".", "..", "a/./b", "a/..", strings.Repeat("x", 257),
		"a\x00", "a\nb", "a\x1b[31m", "a b", "ä", "a\\b", "a*", "a?", "$HOME", "a\x7f"}
	for _, n := range bad {
		err := ValidateName(n)
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", n, err)
			continue
		}
		// The message must not carry raw control characters to a terminal.
		for _, r := range err.Error() {
			if r < 0x20 || r == 0x7f {
				t.Errorf("ValidateName(%q): error %q holds a control character", n, err)
			}
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"db/prod", "../x", "a//b", "/a", "", "a/./b", "x:y@z+w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		// A valid name is safe as a relative path below a directory.
		if len(name) == 0 || len(name) > MaxNameSize || name[0] == '/' || name[len(name)-1] == '/' {
			t.Fatalf("accepted %q", name)
		}
		for _, seg := range strings.Split(name, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted %q with segment %q", name, seg)
			}
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if c < 0x21 || c > 0x7e || c == '\\' {
				t.Fatalf("accepted %q with byte %#x", name, c)
			}
		}
	})
}
