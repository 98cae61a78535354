package bech32

import (
	"bytes"
	"testing"

	"filippo.io/age"
)

// Keys age made decode to what age's own parser reads, and encode back.
func TestAgeKeys(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	hrp, data, err := Decode([]byte(id.Recipient().String()))
	if err != nil || string(hrp) != "age" || len(data) != 32 {
		t.Fatalf("Decode(recipient) = %q, %d bytes, %v", hrp, len(data), err)
	}
	if s, err := Encode("age", data); err != nil || s != id.Recipient().String() {
		t.Fatalf("Encode = %q, %v; want %s", s, err, id.Recipient())
	}
	hrp, _, err = Decode([]byte(id.String()))
	if err != nil || string(hrp) != "age-secret-key-" {
		t.Fatalf("Decode(identity) = %q, %v", hrp, err)
	}
	bad := []byte(id.Recipient().String())
	bad[10] ^= 1
	if _, _, err := Decode(bad); err == nil {
		t.Fatal("a changed character decoded")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq"))
	f.Add([]byte("AGE-SECRET-KEY-1"))
	f.Add([]byte("a1"))
	f.Fuzz(func(t *testing.T, s []byte) {
		hrp, data, err := Decode(s)
		if err != nil {
			return
		}
		out, err := Encode(string(hrp), data)
		if err != nil {
			t.Fatalf("Encode of what Decode gave: %v", err)
		}
		if !bytes.EqualFold([]byte(out), s) {
			t.Fatalf("round trip: %q became %q", s, out)
		}
	})
}
