// Package strictjson decodes JSON that people review by eye or that crosses
// a trust boundary (vault.json in a shared repository, kr's records), where
// encoding/json's leniency hides what a reader sees: it lets a later
// duplicate key win and matches keys without regard to case, so
// {"recipients":[A],"Recipients":[B]} reads as B to kr and as A to a
// reviewer.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Unmarshal decodes data into v like json.Unmarshal with unknown fields
// disallowed, after refusing any object that repeats a key (also in another
// case) and any key that matches a struct field only when case is ignored.
func Unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := check(dec, reflect.TypeOf(v)); err != nil {
		return quiet(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("json: data after the top-level value")
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return quiet(dec.Decode(v))
}

// quiet drops the character encoding/json quotes in a syntax error: the
// input may hold a secret (a credential helper's request), and its offset
// says where the mistake is just as well.
func quiet(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return quietSyntax{se}
	}
	return err
}

// quietSyntax reads as the offset alone and still unwraps to the
// *json.SyntaxError, for callers that word the position themselves.
type quietSyntax struct{ err *json.SyntaxError }

func (q quietSyntax) Error() string {
	return fmt.Sprintf("json: syntax error at byte %d", q.err.Offset)
}
func (q quietSyntax) Unwrap() error { return q.err }

// check walks one value from dec, with t the Go type it will decode into
// (nil when unknown: only duplicates are checked below it).
func check(dec *json.Decoder, t reflect.Type) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch delim {
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for dec.More() {
			if err := check(dec, elem); err != nil {
				return err
			}
		}
	case '{':
		fields := map[string]reflect.Type(nil)
		var elem reflect.Type
		if t != nil {
			switch t.Kind() {
			case reflect.Struct:
				fields = structFields(t)
			case reflect.Map:
				elem = t.Elem()
			}
		}
		seen := map[string]string{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key := tok.(string)
			// Struct fields match case-insensitively in encoding/json, so
			// case variants are ambiguous there; map keys match exactly
			// (paths, service names), so only exact repeats are.
			folded := key
			if fields != nil {
				folded = strings.ToLower(key)
			}
			if prev, dup := seen[folded]; dup {
				if prev == key {
					return fmt.Errorf("json: key %q appears twice", key)
				}
				return fmt.Errorf("json: keys %q and %q differ only in case", prev, key)
			}
			seen[folded] = key
			next := elem
			if fields != nil {
				ft, exact := fields[key]
				if !exact {
					for name := range fields {
						if strings.EqualFold(name, key) {
							return fmt.Errorf("json: key %q is spelled %q", key, name)
						}
					}
				}
				next = ft
			}
			if err := check(dec, next); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// structFields maps the JSON names of t's exported fields to their types,
// following embedded structs as encoding/json does.
func structFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					m[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}
