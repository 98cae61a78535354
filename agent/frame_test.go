package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fill sets v, recursively, to a value that is not its zero and that a
// JSON round trip keeps. A field of a kind it does not know fails the
// test: a new kind of field needs a sample here before it is trusted.
func fill(t *testing.T, v reflect.Value, seed int) {
	t.Helper()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(-7 - seed))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d \"<&>\u2028\x00", seed))
	case reflect.Slice:
		if v.Type() == bytesType {
			v.SetBytes([]byte{0, 0xff, byte(seed), '"', '\\', 's', 'e', 'c'})
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(t, v.Index(0), seed+1)
		fill(t, v.Index(1), seed+2)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), seed+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(t, v.Field(i), seed+i)
		}
	default:
		t.Fatalf("no sample for a %v", v.Type())
	}
}

// roundTrip writes msg, checks the frame is what encoding/json would
// write (so an agent of the same version built before this codec reads
// it), and reads it back into a new value of its type.
func roundTrip(t *testing.T, msg reflect.Value) reflect.Value {
	t.Helper()
	var buf bytes.Buffer
	if err := writeMsg(&buf, msg.Addr().Interface()); err != nil {
		t.Fatalf("write %+v: %v", msg.Interface(), err)
	}
	want, err := json.Marshal(msg.Interface())
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes()[4:]; !bytes.Equal(got, want) {
		t.Errorf("frame %s\n  want %s", got, want)
	}
	back := reflect.New(msg.Type())
	if err := readMsg(&buf, back.Interface()); err != nil {
		t.Fatalf("read %s: %v", want, err)
	}
	return back.Elem()
}

// wiped reports whether every byte field of msg is all zeros.
func wiped(msg reflect.Value) error {
	for i := 0; i < msg.NumField(); i++ {
		if f := msg.Field(i); f.Type() == bytesType && bytes.ContainsFunc(f.Bytes(), func(r rune) bool { return r != 0 }) {
			return fmt.Errorf("%s left as %q", msg.Type().Field(i).Name, f.Bytes())
		}
	}
	return nil
}

// TestEveryFieldTravels walks every field of every message by reflection:
// each, alone and all together, is written, read back equal, and, for
// bytes, wiped by wipe on both ends. A field the codec did not carry or
// wipe fails here without this test naming it.
func TestEveryFieldTravels(t *testing.T) {
	for _, m := range []any{Request{}, Response{}} {
		typ := reflect.TypeOf(m)
		t.Run(typ.Name(), func(t *testing.T) {
			for i := 1; i < typ.NumField(); i++ { // field 0 is the version
				name := typ.Field(i).Name
				msg := reflect.New(typ).Elem()
				msg.Field(0).SetInt(Version)
				fill(t, msg.Field(i), i)
				back := roundTrip(t, msg)
				if !reflect.DeepEqual(back.Interface(), msg.Interface()) {
					t.Errorf("%s: read back %+v, sent %+v", name, back.Interface(), msg.Interface())
				}
				if msg.Field(i).Type() == bytesType {
					if !bytes.Contains(bytesOf(t, msg), []byte(base64.StdEncoding.EncodeToString(msg.Field(i).Bytes()))) {
						t.Errorf("%s: not in the frame as base64", name)
					}
					wipe(back.Addr().Interface())
					wipe(msg.Addr().Interface())
					for _, v := range []reflect.Value{back, msg} {
						if err := wiped(v); err != nil {
							t.Errorf("after wipe: %v", err)
						}
					}
				}
			}
			all := reflect.New(typ).Elem()
			fill(t, all, 0)
			all.Field(0).SetInt(Version)
			if back := roundTrip(t, all); !reflect.DeepEqual(back.Interface(), all.Interface()) {
				t.Errorf("read back %+v, sent %+v", back.Interface(), all.Interface())
			}
		})
	}
}

func bytesOf(t *testing.T, msg reflect.Value) []byte {
	var buf bytes.Buffer
	if err := writeMsg(&buf, msg.Addr().Interface()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// futureRequest is a message with a byte field no code in this package
// names: it shows a new field needs only its line in the struct.
type futureRequest struct {
	V     int    `json:"v"`
	Op    string `json:"op"`
	Token []byte `json:"token,omitempty"`
	N     int64  `json:"n,omitempty"`
}

func TestNewFieldNeedsNoOtherEdit(t *testing.T) {
	msg := futureRequest{V: Version, Op: "future", Token: []byte("a new secret"), N: 3}
	back := roundTrip(t, reflect.ValueOf(&msg).Elem()).Interface().(futureRequest)
	if !reflect.DeepEqual(back, msg) {
		t.Fatalf("read back %+v, sent %+v", back, msg)
	}
	wipe(&back)
	if err := wiped(reflect.ValueOf(back)); err != nil {
		t.Fatal(err)
	}
	// Refused after the token was decoded: the token is wiped.
	body := `{"v":2,"op":"future","token":"YSBuZXcgc2VjcmV0","n":"x"}`
	var refused futureRequest
	if err := readMsg(bytes.NewReader(frameOf(body)), &refused); err == nil {
		t.Fatal("accepted a string for an int")
	}
	if err := wiped(reflect.ValueOf(refused)); err != nil {
		t.Fatalf("refused frame: %v", err)
	}
}

// TestSchemaRefusesWhatItCannotCarry: a field that would be silently left
// out of the frame, or bytes that would go through encoding/json and never
// be wiped, make the message unusable at once rather than leak.
func TestSchemaRefusesWhatItCannotCarry(t *testing.T) {
	type nested struct{ Key []byte }
	for _, m := range []any{
		&struct {
			V      int `json:"v"`
			hidden []byte
		}{V: Version},
		&struct {
			V       int `json:"v"`
			Untaged string
		}{V: Version},
		&struct {
			V    int    `json:"v"`
			Skip []byte `json:"-"`
		}{V: Version},
		&struct {
			V    int    `json:"v"`
			Info nested `json:"info"`
		}{V: Version},
		&struct {
			V    int               `json:"v"`
			Info map[string][]byte `json:"info"`
		}{V: Version},
		&struct {
			V    int `json:"v"`
			Info any `json:"info"`
		}{V: Version},
		&struct {
			Op string `json:"op"`
		}{},
		&struct {
			V int `json:"v,omitempty"`
		}{},
	} {
		if err := writeMsg(&bytes.Buffer{}, m); err == nil {
			t.Errorf("%T was sent", m)
		}
		if err := decode([]byte(`{"v":2}`), m); err == nil {
			t.Errorf("%T was read", m)
		}
	}
}

func frameOf(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// TestVersionBeforeKeys: a message of another version is a VersionError
// even when it has keys this version does not know, and its byte fields
// are not decoded.
func TestVersionBeforeKeys(t *testing.T) {
	for _, tc := range []struct {
		body string
		msg  any
		got  int
	}{
		{`{"v":0,"op":"status","future":"x"}`, &Request{}, 0},
		{`{"v":3,"passphrase":"c2VjcmV0","op":"unlock"}`, &Request{}, 3},
		{`{"future":[1],"v":7,"error":"no"}`, &Response{}, 7},
	} {
		err := readMsg(bytes.NewReader(frameOf(tc.body)), tc.msg)
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Got != tc.got || ve.Want != Version {
			t.Errorf("%s: %v, want a VersionError from %d", tc.body, err, tc.got)
		}
		if r, ok := tc.msg.(*Request); ok && r.Passphrase != nil {
			t.Errorf("%s: passphrase decoded", tc.body)
		}
	}
	for _, body := range []string{`{"op":"status"}`, `{"v":"1","op":"status"}`, `{"V":1,"op":"status"}`} {
		err := readMsg(bytes.NewReader(frameOf(body)), &Request{})
		var ve *VersionError
		if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("%s: %v, want a malformed message", body, err)
		}
	}
}
