package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// A frame is a 4-byte big-endian length and a JSON object of that many
// bytes, at most MaxMessage; byte fields are base64 strings in it.
//
// A message is described once, by its struct and json tags (protocol.go).
// The first time a type is sent or read, its fields are turned into a
// schema, which the encoder, the decoder and wipe all walk: a field added
// to Request or Response is sent, read back and, for []byte, wiped, with
// no other edit. A schema refuses what it could not carry safely (an
// untagged or unexported field, bytes nested in a JSON value).

var errTooBig = errors.New("agent: message too large")

// VersionError is a message from an end of another protocol version:
// typically an agent an older kr started, still running after an upgrade.
type VersionError struct {
	Got  int // the version the other end sent
	Want int // this end's, Version
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("agent: protocol version %d, want %d", e.Got, e.Want)
}

// kind is how a field goes on the wire.
type kind uint8

const (
	kindInt    kind = iota // a JSON number
	kindString             // a JSON string; never secret
	kindBytes              // base64, written into the frame by hand and wiped: may be secret
	kindJSON               // anything else, through encoding/json: holds no bytes (buildSchema checks)
)

// field is one member of a message.
type field struct {
	index     int
	name      string
	key       string // the JSON key, quoted
	kind      kind
	omitEmpty bool
}

type schema struct {
	fields []field
	byName map[string]*field
}

var schemas sync.Map // reflect.Type → schemaResult

type schemaResult struct {
	s   *schema
	err error
}

// schemaOf returns t's schema, built once.
func schemaOf(t reflect.Type) (*schema, error) {
	if r, ok := schemas.Load(t); ok {
		return r.(schemaResult).s, r.(schemaResult).err
	}
	s, err := buildSchema(t)
	r, _ := schemas.LoadOrStore(t, schemaResult{s, err})
	return r.(schemaResult).s, r.(schemaResult).err
}

var bytesType = reflect.TypeFor[[]byte]()

func buildSchema(t reflect.Type) (*schema, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("agent: a %v is not a message", t)
	}
	s := &schema{byName: map[string]*field{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !sf.IsExported() || sf.Anonymous || name == "" || name == "-" {
			return nil, fmt.Errorf("agent: %v.%s is not a tagged, exported field: it would be neither sent nor wiped", t, sf.Name)
		}
		f := field{index: i, name: name, omitEmpty: opts == "omitempty"}
		if opts != "" && opts != "omitempty" {
			return nil, fmt.Errorf("agent: %v.%s: json option %q not supported", t, sf.Name, opts)
		}
		key, _ := json.Marshal(name)
		f.key = string(key)
		switch {
		case sf.Type == bytesType:
			f.kind = kindBytes
		case sf.Type.Kind() == reflect.String:
			f.kind = kindString
		case sf.Type.Kind() >= reflect.Int && sf.Type.Kind() <= reflect.Int64:
			f.kind = kindInt
		default:
			if holdsBytes(sf.Type, 0) {
				return nil, fmt.Errorf("agent: %v.%s holds bytes inside a JSON value, which would be neither base64-framed by hand nor wiped; make it a []byte field of the message", t, sf.Name)
			}
			f.kind = kindJSON
		}
		if _, dup := s.byName[name]; dup {
			return nil, fmt.Errorf("agent: %v: two fields named %q", t, name)
		}
		s.fields = append(s.fields, f)
		s.byName[name] = &s.fields[len(s.fields)-1]
	}
	// byName points into fields, which append may have moved.
	for i := range s.fields {
		s.byName[s.fields[i].name] = &s.fields[i]
	}
	v := s.byName["v"]
	if v == nil || v.kind != kindInt || v.omitEmpty || v.index != 0 {
		return nil, fmt.Errorf("agent: %v: a message starts with its version, an int tagged json:\"v\"", t)
	}
	return s, nil
}

// holdsBytes reports whether values of t can hold a []byte (or anything
// encoding/json could not be trusted to leave no copy of).
func holdsBytes(t reflect.Type, depth int) bool {
	if depth > 8 {
		return true
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return true
		}
		return holdsBytes(t.Elem(), depth+1)
	case reflect.Array, reflect.Pointer:
		return holdsBytes(t.Elem(), depth+1)
	case reflect.Map:
		return holdsBytes(t.Key(), depth+1) || holdsBytes(t.Elem(), depth+1)
	case reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if holdsBytes(t.Field(i).Type, depth+1) {
				return true
			}
		}
	}
	return false
}

// message returns the struct msg points to (or is) and its schema.
func message(msg any) (reflect.Value, *schema, error) {
	v := reflect.ValueOf(msg)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return v, nil, errors.New("agent: nil message")
		}
		v = v.Elem()
	}
	s, err := schemaOf(v.Type())
	return v, s, err
}

// empty is encoding/json's omitempty rule.
func empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Bool:
		return !v.Bool()
	}
	return v.IsZero()
}

// writeMsg sends one length-prefixed message. The frame is built by hand in
// one buffer of its exact size, which is wiped once written: json.Marshal
// would leave the passphrase or plaintext, base64-encoded, in its pooled
// encode buffers (and a growing buffer in the arrays it outgrew).
func writeMsg(w io.Writer, msg any) error {
	v, s, err := message(msg)
	if err != nil {
		return err
	}
	members := make([]member, 0, len(s.fields))
	for _, f := range s.fields {
		fv := v.Field(f.index)
		if f.omitEmpty && empty(fv) {
			continue
		}
		m := member{key: f.key}
		switch {
		case f.kind == kindBytes && fv.IsNil():
			m.quoted = []byte("null")
		case f.kind == kindBytes:
			m.secret, m.isBin = fv.Bytes(), true
		case f.kind == kindInt:
			m.quoted = strconv.AppendInt(nil, fv.Int(), 10)
		case f.kind == kindString:
			m.quoted, _ = json.Marshal(fv.String()) // a string always encodes; it is not secret
		default:
			if m.quoted, err = json.Marshal(fv.Interface()); err != nil { // ids and times: nothing secret
				return fmt.Errorf("agent: encode %s: %w", f.name, err)
			}
		}
		members = append(members, m)
	}
	n := 2 // the braces
	for i, m := range members {
		if i > 0 {
			n++ // comma
		}
		n += m.size()
	}
	if n > MaxMessage {
		return errTooBig
	}
	buf := make([]byte, 4, 4+n)
	defer clear(buf[:cap(buf)])
	binary.BigEndian.PutUint32(buf, uint32(n))
	buf = append(buf, '{')
	for i, m := range members {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = m.append(buf)
	}
	buf = append(buf, '}')
	if len(buf) != 4+n {
		return errors.New("agent: frame size miscounted") // would have reallocated
	}
	_, err = w.Write(buf)
	return err
}

// member is one member of a message object as it is written: a JSON
// value that holds nothing secret, or bytes that may (sent as base64
// straight into the frame).
type member struct {
	key    string // a JSON string literal, quotes included
	quoted []byte // non-secret JSON value
	secret []byte // base64-encoded into the frame
	isBin  bool
}

func (m member) size() int {
	n := len(m.key) + 1
	if m.isBin {
		return n + 2 + base64.StdEncoding.EncodedLen(len(m.secret))
	}
	return n + len(m.quoted)
}

func (m member) append(b []byte) []byte {
	b = append(b, m.key...)
	b = append(b, ':')
	if !m.isBin {
		return append(b, m.quoted...)
	}
	b = append(b, '"')
	n := base64.StdEncoding.EncodedLen(len(m.secret))
	base64.StdEncoding.Encode(b[len(b):len(b)+n], m.secret)
	b = b[:len(b)+n]
	return append(b, '"')
}

// readMsg reads one message of this version into v, refusing empty and
// oversized ones.
func readMsg(r io.Reader, v any) error { return readMsgVersion(r, v, Version) }

// readMsgVersion reads a message of protocol version want.
func readMsgVersion(r io.Reader, v any, want int) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 {
		return errors.New("agent: empty message")
	}
	if n > MaxMessage {
		return errTooBig
	}
	// A header alone does not buy a large buffer: the full size is
	// allocated once the first part of the body has arrived, and the
	// first part is wiped after the copy (it may hold a passphrase).
	const first = 64 << 10
	body := make([]byte, min(n, first))
	if _, err := io.ReadFull(r, body); err != nil {
		clear(body)
		return err
	}
	if n > first {
		full := make([]byte, n)
		copy(full, body)
		clear(body)
		body = full
		if _, err := io.ReadFull(r, body[first:]); err != nil {
			clear(body)
			return err
		}
	}
	defer clear(body)
	return decodeVersion(body, v, want)
}

// decode parses a message body strictly into the struct msg points to. The
// version is read first: an end of another version may send keys this one
// does not know, and must hear that the versions differ. A refused message
// is wiped, since some of its secrets may have been decoded before the
// error.
func decode(body []byte, msg any) error { return decodeVersion(body, msg, Version) }

func decodeVersion(body []byte, msg any, want int) (err error) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("agent: cannot decode into a %T", msg)
	}
	v = v.Elem()
	s, err := schemaOf(v.Type())
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			wipe(msg)
		}
	}()
	members, err := splitObject(body)
	if err != nil {
		return fmt.Errorf("agent: malformed message: %w", err)
	}
	var ver int
	raw, ok := members["v"]
	if !ok {
		return errors.New("agent: malformed message: no version")
	}
	if err := json.Unmarshal(raw, &ver); err != nil {
		return fmt.Errorf("agent: malformed message: version: %w", err)
	}
	if ver != want {
		return &VersionError{Got: ver, Want: want}
	}
	for name, raw := range members {
		f := s.byName[name]
		if f == nil {
			return fmt.Errorf("agent: malformed message: unknown key %q", name)
		}
		if err := f.decode(v.Field(f.index), raw); err != nil {
			return fmt.Errorf("agent: malformed message: %s: %w", name, err)
		}
	}
	return nil
}

// decode sets fv from its JSON value raw.
func (f *field) decode(fv reflect.Value, raw []byte) error {
	switch f.kind {
	case kindBytes:
		// base64 straight from the frame into the field's one buffer: no
		// copy that could not be wiped. encoding/json never escapes a
		// base64 character, so a backslash is refused rather than
		// unescaped into another buffer.
		if string(raw) == "null" {
			fv.SetBytes(nil)
			return nil
		}
		if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || bytes.IndexByte(raw, '\\') >= 0 {
			return errors.New("not a base64 string")
		}
		b64 := raw[1 : len(raw)-1]
		out := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, err := base64.StdEncoding.Decode(out, b64)
		if err != nil {
			clear(out)
			return err
		}
		fv.SetBytes(out[:n])
		return nil
	case kindJSON:
		if err := checkKeys(raw, fv.Type()); err != nil {
			return err
		}
	}
	return json.Unmarshal(raw, fv.Addr().Interface())
}

// wipe clears a message's byte fields, which may hold a passphrase, an
// identity, a value or a plaintext.
func wipe(msg any) {
	v, s, err := message(msg)
	if err != nil {
		return
	}
	for _, f := range s.fields {
		if f.kind == kindBytes {
			clear(v.Field(f.index).Bytes())
		}
	}
}

// WriteFrame, ReadFrame and WipeFrame give another protocol kr speaks (the
// WSL bridge to kr.exe) this framing for messages of its own: a struct
// whose first field is its version, `json:"v"`, and whose byte fields are
// base64-framed by hand and wiped, as the agent's are.
func WriteFrame(w io.Writer, msg any) error { return writeMsg(w, msg) }

// ReadFrame reads one message of the given version into the struct msg
// points to; a message of another version is a *VersionError.
func ReadFrame(r io.Reader, msg any, version int) error { return readMsgVersion(r, msg, version) }

// WipeFrame clears msg's byte fields.
func WipeFrame(msg any) { wipe(msg) }
