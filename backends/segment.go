package backends

import (
	"fmt"
	"strings"
)

// EscapeSegment spells any string as one segment of a secret name, for the
// helpers that file foreign keys (a git host and path, a docker server URL)
// under names: every byte outside A-Z a-z 0-9 . _ - @ : becomes '+' and two
// upper-case hex digits ('%' is not a name character, hence '+'), "" is
// "+", and a string of only dots is escaped whole, since "." and ".." are
// not segments. So "https://index.docker.io/v1/" is
// "https:+2F+2Findex.docker.io+2Fv1+2F".
func EscapeSegment(s string) string {
	if s == "" {
		return "+"
	}
	onlyDots := strings.Trim(s, ".") == ""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; plainSegmentByte(c) && !(onlyDots && c == '.') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "+%02X", c)
		}
	}
	return b.String()
}

// UnescapeSegment reverses EscapeSegment; ok is false for any spelling
// EscapeSegment does not make, so one string has one name.
func UnescapeSegment(seg string) (s string, ok bool) {
	if seg == "+" {
		return "", true
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c != '+' {
			if !plainSegmentByte(c) {
				return "", false
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(seg) {
			return "", false
		}
		var v byte
		for _, h := range []byte{seg[i+1], seg[i+2]} {
			switch {
			case '0' <= h && h <= '9':
				v = v<<4 | (h - '0')
			case 'A' <= h && h <= 'F':
				v = v<<4 | (h - 'A' + 10)
			default:
				return "", false
			}
		}
		b.WriteByte(v)
		i += 2
	}
	s = b.String()
	if EscapeSegment(s) != seg {
		return "", false
	}
	return s, true
}

func plainSegmentByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '@' || c == ':'
}
