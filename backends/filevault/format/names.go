package format

import (
	"errors"
	"strings"
)

// EscapeName maps a valid secret name to a relative slash path that is the
// same file on every file system: case-insensitive ones (macOS, Windows),
// Windows' reserved device names and trailing dots, and kr's own hidden
// files. Every byte outside [a-z0-9._-@+] becomes %XX (upper-case hex), so
// "DB" is "%44%42" and the mapping is injective and reversible.
//
// A segment whose escaped form is too long for one file name (most file
// systems allow 255 bytes) is split over directories: "AAA~/~BBB~/~CCC".
// '~' is not a name character, so it never appears otherwise, and a piece
// never starts with '.', never ends with '.' and is never a device name.
func EscapeName(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = splitLong(escapeSegment(s, i < len(segs)-1))
	}
	return strings.Join(segs, "/")
}

// maxPiece bounds one path component, leaving room for ".age" and for
// "~" markers.
const maxPiece = 180

func splitLong(e string) string {
	if len(e) <= maxPiece {
		return e
	}
	var parts []string
	for len(e) > maxPiece {
		cut := maxPiece
		// Never cut a %XX triple.
		if i := strings.LastIndexByte(e[:cut], '%'); i >= 0 && i > cut-3 {
			cut = i
		}
		parts = append(parts, e[:cut])
		e = e[cut:]
	}
	parts = append(parts, e)
	return strings.Join(parts, "~/~")
}

func escapeSegment(s string, isDir bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		escape := !plainByte(c) ||
			(i == 0 && c == '.') || // never a hidden file: those are kr's temp files
			(i == len(s)-1 && c == '.') || // Windows drops a trailing dot
			(i == 0 && reservedOnWindows(s)) ||
			// A directory "x.age" would collide with the file of name "x".
			(isDir && c == '.' && s[i:] == SecretExt)
		if escape {
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

const hexDigits = "0123456789ABCDEF"

func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("._-@+", c) >= 0
}

// reservedOnWindows reports device names Windows maps whatever the
// extension: CON, PRN, AUX, NUL, COM1-9, LPT1-9 (and the superscript
// variants, which cannot occur in a valid name).
func reservedOnWindows(seg string) bool {
	base := seg
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch {
	case upperIs(base, "CON"), upperIs(base, "PRN"), upperIs(base, "AUX"), upperIs(base, "NUL"):
		return true
	}
	return len(base) == 4 && (upperIs(base[:3], "COM") || upperIs(base[:3], "LPT")) &&
		base[3] >= '1' && base[3] <= '9'
}

// upperIs reports whether s in ASCII upper case is upper, without
// allocating: List asks this of every file name.
func upperIs(s, upper string) bool {
	if len(s) != len(upper) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

// PlainSegment reports whether s is a path component EscapeName writes
// unchanged for a segment of its own (a directory's when isDir): then the
// name a path of such components stands for is the path itself, and List
// takes it without unescaping.
func PlainSegment(s string, isDir bool) bool {
	if s == "" || len(s) > maxPiece || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return !(isDir && strings.HasSuffix(s, SecretExt)) && !reservedOnWindows(s)
}

var errBadEscape = errors.New("malformed escape")

// EscapeFolder maps a folder of secrets (a name prefix, no trailing slash)
// to the relative slash path of its directory.
func EscapeFolder(folder string) string {
	segs := strings.Split(folder, "/")
	for i, s := range segs {
		segs[i] = splitLong(escapeSegment(s, true))
	}
	return strings.Join(segs, "/")
}

// UnescapeFolder reverses EscapeFolder; it accepts only what EscapeFolder
// writes.
func UnescapeFolder(path string) (string, error) {
	folder, err := decodeEscaped(path)
	if err != nil || EscapeFolder(folder) != path {
		return "", errBadEscape
	}
	return folder, nil
}

// UnescapeName reverses EscapeName; it accepts only what EscapeName writes.
func UnescapeName(path string) (string, error) {
	name, err := decodeEscaped(path)
	if err != nil || EscapeName(name) != path {
		return "", errBadEscape // not canonical: two paths must not decode to one name
	}
	return name, nil
}

func decodeEscaped(path string) (string, error) {
	p := strings.ReplaceAll(path, "~/~", "")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(p) {
			return "", errBadEscape
		}
		hi, lo := strings.IndexByte(hexDigits, p[i+1]), strings.IndexByte(hexDigits, p[i+2])
		if hi < 0 || lo < 0 {
			return "", errBadEscape
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}
