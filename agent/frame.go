package agent

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// A frame is a 4-byte big-endian length and a JSON object of that many
// bytes, at most MaxMessage; byte fields are base64 strings in it.

var errTooBig = errors.New("agent: message too large")

// writeMsg sends one length-prefixed message. The frame is built by hand in
// one buffer of its exact size, which is wiped once written: json.Marshal
// would leave the passphrase or plaintext, base64-encoded, in its pooled
// encode buffers (and a growing buffer in the arrays it outgrew).
func writeMsg(w io.Writer, v any) error {
	var fields []member
	switch m := v.(type) {
	case *Request:
		fields = m.fields()
	case Request:
		fields = m.fields()
	case *Response:
		f, err := m.fields()
		if err != nil {
			return err
		}
		fields = f
	case Response:
		f, err := m.fields()
		if err != nil {
			return err
		}
		fields = f
	default:
		return fmt.Errorf("agent: cannot send a %T", v)
	}
	n := 2 // the braces
	for i, f := range fields {
		if i > 0 {
			n++ // comma
		}
		n += f.size()
	}
	if n > MaxMessage {
		return errTooBig
	}
	buf := make([]byte, 4, 4+n)
	defer clear(buf[:cap(buf)])
	binary.BigEndian.PutUint32(buf, uint32(n))
	buf = append(buf, '{')
	for i, f := range fields {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = f.append(buf)
	}
	buf = append(buf, '}')
	if len(buf) != 4+n {
		return errors.New("agent: frame size miscounted") // would have reallocated
	}
	_, err := w.Write(buf)
	return err
}

// member is one member of a message object: a JSON string, number or
// pre-encoded value that holds nothing secret, or bytes that may (sent as
// base64 straight into the frame).
type member struct {
	key    string // a JSON string literal, quotes included
	quoted []byte // non-secret JSON value
	secret []byte // base64-encoded into the frame
	isBin  bool
}

func (f member) size() int {
	n := len(f.key) + 1
	if f.isBin {
		return n + 2 + base64.StdEncoding.EncodedLen(len(f.secret))
	}
	return n + len(f.quoted)
}

func (f member) append(b []byte) []byte {
	b = append(b, f.key...)
	b = append(b, ':')
	if !f.isBin {
		return append(b, f.quoted...)
	}
	b = append(b, '"')
	n := base64.StdEncoding.EncodedLen(len(f.secret))
	base64.StdEncoding.Encode(b[len(b):len(b)+n], f.secret)
	b = b[:len(b)+n]
	return append(b, '"')
}

func num(key string, v int64) member {
	return member{key: key, quoted: strconv.AppendInt(nil, v, 10)}
}

func str(key, v string) member {
	q, _ := json.Marshal(v) // a string always encodes; it is not secret
	return member{key: key, quoted: q}
}

func bin(key string, v []byte) member { return member{key: key, secret: v, isBin: true} }

// fields lists the request's members as its json tags name them, empty
// optional ones left out.
func (r *Request) fields() []member {
	f := []member{num(`"v"`, int64(r.V)), str(`"op"`, r.Op)}
	if r.VaultID != "" {
		f = append(f, str(`"vault_id"`, r.VaultID))
	}
	for _, b := range []struct {
		key string
		v   []byte
	}{{`"identity_file"`, r.IdentityFile}, {`"passphrase"`, r.Passphrase}, {`"ciphertext"`, r.Ciphertext}} {
		if len(b.v) > 0 {
			f = append(f, bin(b.key, b.v))
		}
	}
	if r.TTLSeconds != 0 {
		f = append(f, num(`"ttl_seconds"`, r.TTLSeconds))
	}
	if r.CacheKey != "" {
		f = append(f, str(`"cache_key"`, r.CacheKey))
	}
	if len(r.Value) > 0 {
		f = append(f, bin(`"value"`, r.Value))
	}
	if r.IdleSeconds != 0 {
		f = append(f, num(`"idle_seconds"`, r.IdleSeconds))
	}
	return f
}

func (r *Response) fields() ([]member, error) {
	f := []member{num(`"v"`, int64(r.V))}
	if r.Error != "" {
		f = append(f, str(`"error"`, r.Error))
	}
	if r.Code != "" {
		f = append(f, str(`"code"`, string(r.Code)))
	}
	if len(r.Plaintext) > 0 {
		f = append(f, bin(`"plaintext"`, r.Plaintext))
	}
	if r.Status != nil {
		st, err := json.Marshal(r.Status) // ids and times: nothing secret
		if err != nil {
			return nil, err
		}
		f = append(f, member{key: `"status"`, quoted: st})
	}
	return f, nil
}

// readMsg reads one message into v, refusing empty and oversized ones.
func readMsg(r io.Reader, v any) error {
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
	return decode(body, v)
}

// decode parses a message body strictly. A refused message is wiped:
// json.Unmarshal may have decoded its secrets before the error.
func decode(body []byte, v any) (err error) {
	defer func() {
		if err != nil {
			wipe(v)
		}
	}()
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return fmt.Errorf("agent: malformed message: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("agent: malformed message: %w", err)
	}
	var ver int
	switch m := v.(type) {
	case *Request:
		ver = m.V
	case *Response:
		ver = m.V
	}
	if ver != Version {
		return fmt.Errorf("agent: protocol version %d, want %d", ver, Version)
	}
	return nil
}

// wipe clears a message's byte fields, which may hold a passphrase, an
// identity, a value or a plaintext.
func wipe(v any) {
	switch m := v.(type) {
	case *Request:
		clear(m.IdentityFile)
		clear(m.Passphrase)
		clear(m.Value)
	case *Response:
		clear(m.Plaintext)
	}
}
