package backends

import (
	"fmt"
	"strconv"
	"strings"
)

// ValidateName reports whether name may be used as a secret name: 1 to 256
// bytes of A-Z a-z 0-9 and ". _ - / @ + :", no leading or trailing slash,
// and no empty, "." or ".." path segment. The rules keep names safe as file
// paths, credential targets and D-Bus attribute values alike. The error
// wraps ErrInvalidName and quotes the name so that control characters show.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidName)
	}
	if len(name) > MaxNameSize {
		return fmt.Errorf("%w: name is %d bytes, the limit is %d", ErrInvalidName, len(name), MaxNameSize)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("%w: %s: character %s at byte %d is not allowed (use A-Z a-z 0-9 . _ - / @ + :)",
				ErrInvalidName, strconv.Quote(name), strconv.QuoteRune(rune(name[i])), i)
		}
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return fmt.Errorf("%w: %q: empty path segment (no leading, trailing or double /)", ErrInvalidName, name)
		case ".", "..":
			return fmt.Errorf("%w: %q: %q is not allowed as a path segment", ErrInvalidName, name, seg)
		}
	}
	return nil
}

// ValidatePrefix checks a List prefix: empty, or a string made only of
// name characters. A prefix may end in "/" (to list one folder).
func ValidatePrefix(prefix string) error {
	if len(prefix) > MaxNameSize {
		return fmt.Errorf("%w: prefix is %d bytes, the limit is %d", ErrInvalidName, len(prefix), MaxNameSize)
	}
	for i := 0; i < len(prefix); i++ {
		if !nameByte(prefix[i]) {
			return fmt.Errorf("%w: prefix %s: character %s is not allowed",
				ErrInvalidName, strconv.Quote(prefix), strconv.QuoteRune(rune(prefix[i])))
		}
	}
	return nil
}

func nameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', '_', '-', '/', '@', '+', ':':
		return true
	}
	return false
}
