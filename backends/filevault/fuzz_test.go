package filevault

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"identity":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","recipients":["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":2,"recipients":[{"name":"alice","key":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"},"age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"]}`))
	f.Add([]byte(`{"version":2,"recipients":[{"name":"a","key":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","Name":"b"}]}`))
	f.Add([]byte(`{"version":1,"identity":"x","recipients":[],"extra":1}`))
	f.Add([]byte(`[]`))
	// What a reviewer reads must be what kr uses: no second or case-variant key.
	f.Add([]byte(`{"version":1,"identity":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","recipients":["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"],"Recipients":["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"]}`))
	f.Add([]byte(`{"version":1,"identity":"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","recipients":["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"],"recipients":["age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p","age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseManifest(b)
		if err != nil {
			return
		}
		// A plain decoder (a reviewer's tool) sees the same recipients
		// under the exact key names, and no other key.
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", err)
		}
		for k := range raw {
			if k != "version" && k != "identity" && k != "recipients" {
				t.Fatalf("accepted key %q", k)
			}
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(raw["recipients"], &entries); err != nil {
			t.Fatalf("a plain decoder cannot read the recipients: %v", err)
		}
		var rs []string
		for _, e := range entries {
			var key string
			if json.Unmarshal(e, &key) != nil {
				var mem struct{ Name, Key string }
				if err := json.Unmarshal(e, &mem); err != nil {
					t.Fatalf("a plain decoder cannot read recipient %s: %v", e, err)
				}
				if m.Names[mem.Key] != mem.Name {
					t.Fatalf("a plain decoder reads %s as %q, kr as %q", mem.Key, mem.Name, m.Names[mem.Key])
				}
				key = mem.Key
			}
			rs = append(rs, key)
		}
		if !slices.Equal(rs, m.Recipients) {
			t.Fatalf("a plain decoder reads recipients %q, kr %q", rs, m.Recipients)
		}
		if len(m.Recipients) == 0 {
			t.Fatalf("accepted %+v", m)
		}
		if m.Version == formatVersion && !slices.Contains(m.Recipients, m.Identity) {
			t.Fatalf("accepted a manifest without its own identity: %+v", m)
		}
		// Written back, it reads the same.
		b2, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseManifest(b2)
		if err != nil || !slices.Equal(m2.Recipients, m.Recipients) || len(m2.Names) != len(m.Names) {
			t.Fatalf("round trip: %+v, %v", m2, err)
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	f.Add([]byte("kr-secret/v1 db/prod\nvalue"))
	f.Add([]byte("kr-secret/v1 \n"))
	f.Add([]byte("kr-secret/v1 a//b\nx"))
	f.Add([]byte("kr-secret/v2 a\nx"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		name, value, err := parseSecret(plain)
		if err != nil {
			return
		}
		if backends.ValidateName(name) != nil {
			t.Fatalf("accepted invalid name %q", name)
		}
		if !bytes.Equal(secretPlaintext(name, value), plain) {
			t.Fatalf("parse is not the inverse of build for %q", plain)
		}
	})
}

func FuzzEscapeName(f *testing.F) {
	for _, s := range []string{"db/prod", "DB", "con.txt", "a./b", ".x", "x.age/y", strings.Repeat("Z", 256), "a~/~b", "%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if backends.ValidateName(s) == nil {
			e := escapeName(s)
			back, err := unescapeName(e)
			if err != nil || back != s {
				t.Fatalf("round trip %q -> %q -> %q, %v", s, e, back, err)
			}
			for _, c := range strings.Split(e, "/") {
				if c == "" || strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".") || len(c)+len(secretExt) > 255 || reservedOnWindows(c) {
					t.Fatalf("%q: unsafe component %q in %q", s, c, e)
				}
			}
		}
		// Whatever a directory holds, decoding either fails or gives the
		// one name that encodes back to it.
		if name, err := unescapeName(s); err == nil {
			if escapeName(name) != s {
				t.Fatalf("unescape(%q) = %q, which escapes to %q", s, name, escapeName(name))
			}
			if !strings.Contains(s, "%") && strings.ToLower(s) != s {
				t.Fatalf("upper case survived escaping: %q", s)
			}
		}
	})
}

// FuzzGetDamaged feeds Get mutated ciphertexts: it must return an error or
// the value of the name asked for, never a panic or another name's value.
func FuzzGetDamaged(f *testing.F) {
	v := newVault(f)
	ctx := context.Background()
	if err := v.Set(ctx, "target", []byte("the value")); err != nil {
		f.Fatal(err)
	}
	if err := v.Set(ctx, "other", []byte("other value")); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(v.secretPath("target"))
	otherCT, _ := os.ReadFile(v.secretPath("other"))
	f.Add(good, uint16(0), byte(0))
	f.Add(good, uint16(len(good)-1), byte(1))
	f.Add(otherCT, uint16(0), byte(0))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 x\n"), uint16(3), byte(9))
	f.Fuzz(func(t *testing.T, ct []byte, at uint16, flip byte) {
		ct = bytes.Clone(ct)
		if len(ct) > 0 {
			ct[int(at)%len(ct)] ^= flip
		}
		if err := writeAtomic(v.secretPath("target"), ct); err != nil {
			t.Fatal(err)
		}
		got, err := v.Get(ctx, "target")
		if err == nil && !bytes.Equal(got, []byte("the value")) {
			t.Fatalf("Get returned %q from a damaged file", got)
		}
	})
}
