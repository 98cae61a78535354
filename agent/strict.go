package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// checkKeys refuses what encoding/json would quietly accept in a message
// meant for t: a key given twice, where the last one wins, and a key that
// is not exactly a field's name, which json matches in any case: the frame
// {"op":"status","OP":"lock"} read as a lock. Only keys are decoded, never
// values: those may be passphrases or plaintexts, and a Go string of one
// could never be wiped (internal/strictjson decodes every string token).
func checkKeys(body []byte, t reflect.Type) error {
	s := &keyScanner{b: body}
	s.space()
	if err := s.value(t, 0); err != nil {
		return err
	}
	s.space()
	if s.i != len(s.b) {
		return errors.New("data after the message")
	}
	return nil
}

// splitObject returns the members of the JSON object body by key, their
// values raw, refusing a key given twice and any data after the object.
// Nested objects are checked for repeated keys too; their other keys are
// checked against their type when the member is decoded.
func splitObject(body []byte) (map[string][]byte, error) {
	s := &keyScanner{b: body}
	if _, err := s.next("{"); err != nil {
		return nil, err
	}
	members := map[string][]byte{}
	if s.space(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
	} else {
		for {
			key, err := s.key()
			if err != nil {
				return nil, err
			}
			if _, dup := members[key]; dup {
				return nil, fmt.Errorf("key %q appears twice", key)
			}
			if _, err := s.next(":"); err != nil {
				return nil, err
			}
			s.space()
			start := s.i
			if err := s.value(nil, 1); err != nil {
				return nil, err
			}
			members[key] = s.b[start:s.i]
			c, err := s.next(",}")
			if err != nil {
				return nil, err
			}
			if c == '}' {
				break
			}
		}
	}
	s.space()
	if s.i != len(s.b) {
		return nil, errors.New("data after the message")
	}
	return members, nil
}

// keyScanner walks JSON only as far as needed to find object keys; the
// syntax of everything else is left to json.Unmarshal, which runs next.
type keyScanner struct {
	b []byte
	i int
}

func (s *keyScanner) space() {
	for s.i < len(s.b) && strings.IndexByte(" \t\r\n", s.b[s.i]) >= 0 {
		s.i++
	}
}

// next consumes one byte, which must be one of want.
func (s *keyScanner) next(want string) (byte, error) {
	s.space()
	if s.i >= len(s.b) {
		return 0, io.ErrUnexpectedEOF
	}
	c := s.b[s.i]
	if strings.IndexByte(want, c) < 0 {
		return 0, fmt.Errorf("unexpected %q at offset %d", c, s.i)
	}
	s.i++
	return c, nil
}

func (s *keyScanner) value(t reflect.Type, depth int) error {
	if depth > 8 {
		return errors.New("nested too deeply")
	}
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s.space()
	if s.i >= len(s.b) {
		return io.ErrUnexpectedEOF
	}
	switch s.b[s.i] {
	case '{':
		return s.object(t, depth)
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		s.i++
		if s.space(); s.i < len(s.b) && s.b[s.i] == ']' {
			s.i++
			return nil
		}
		for {
			if err := s.value(elem, depth+1); err != nil {
				return err
			}
			if c, err := s.next(",]"); err != nil || c == ']' {
				return err
			}
		}
	case '"':
		_, err := s.str()
		return err
	}
	start := s.i
	for s.i < len(s.b) && strings.IndexByte("+-.0123456789Eaeflnrstu", s.b[s.i]) >= 0 {
		s.i++
	}
	if s.i == start {
		return fmt.Errorf("unexpected %q at offset %d", s.b[s.i], s.i)
	}
	return nil
}

// str skips a string literal and returns it, quotes included.
func (s *keyScanner) str() ([]byte, error) {
	start := s.i
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++
		case '"':
			s.i++
			return s.b[start:s.i], nil
		}
	}
	return nil, io.ErrUnexpectedEOF
}

// key reads an object's key. Keys are names, never secret, so they may be
// decoded into Go strings.
func (s *keyScanner) key() (string, error) {
	if s.space(); s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errors.New("malformed object")
	}
	raw, err := s.str()
	if err != nil {
		return "", err
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil {
		return "", err
	}
	return key, nil
}

func (s *keyScanner) object(t reflect.Type, depth int) error {
	var fields map[string]reflect.Type
	if t != nil && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	s.i++
	if s.space(); s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.key()
		if err != nil {
			return err
		}
		if seen[key] {
			return fmt.Errorf("key %q appears twice", key)
		}
		seen[key] = true
		var ft reflect.Type
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return fmt.Errorf("unknown key %q", key)
			}
		}
		if _, err := s.next(":"); err != nil {
			return err
		}
		if err := s.value(ft, depth+1); err != nil {
			return err
		}
		if c, err := s.next(",}"); err != nil || c == '}' {
			return err
		}
	}
}

// jsonFields maps the JSON names of t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}
