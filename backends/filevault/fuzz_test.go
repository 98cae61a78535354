package filevault

import (
	"bytes"
	"context"
	"os"
	"testing"
)

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
