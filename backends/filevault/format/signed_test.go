package format

import (
	"bytes"
	"os"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

// FuzzReadSecret: a signed secret's plaintext (or an unsigned one) reads
// back into the bytes it came from, with a valid name, and never panics.
func FuzzReadSecret(f *testing.F) {
	f.Add([]byte("kr-secret/v1 db/prod\nvalue"))
	f.Add([]byte("kr-secret/v2 db/prod\nkr-signed v1 0123456789abcdef0123456789abcdef 2 3 age1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf " +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\nvalue"))
	f.Add([]byte("kr-secret/v2 a\nkr-signed v1 x 0 0 age1 AA\n"))
	f.Add([]byte("kr-secret/v2 a\nkr-signed v1 0123456789abcdef0123456789abcdef 01 1 age1x y\n"))
	f.Fuzz(func(t *testing.T, plain []byte) {
		s, err := ReadSecret(plain)
		if err != nil {
			return
		}
		if backends.ValidateName(s.Name) != nil {
			t.Fatalf("accepted invalid name %q", s.Name)
		}
		var back []byte
		if s.Signed != nil {
			back = SignedPlaintext(s.Name, *s.Signed, s.Value)
		} else {
			back = SecretPlaintext(s.Name, s.Value)
		}
		if !bytes.Equal(back, plain) {
			t.Fatalf("read is not the inverse of write for %q", plain)
		}
	})
}

// FuzzChain: a signed vault.json parses or not; what parses writes back
// and reads the same, and its chain and list check never panic and reach
// only listed members.
func FuzzChain(f *testing.F) {
	if b, err := os.ReadFile("testdata/compat/v3.vault.json"); err == nil {
		f.Add(b, "age1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf")
	}
	f.Add([]byte(`{"version":3,"vault":"0123456789abcdef0123456789abcdef","epoch":1,"recipients":[]}`), "")
	f.Add([]byte(`{"version":3,"vault":"0123456789abcdef0123456789abcdef","epoch":0,"recipients":[{"name":"a","key":"age1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf","epoch":1,"added_by":"age1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf","signature":""}]}`), "x")
	f.Fuzz(func(t *testing.T, b []byte, trusted string) {
		m, err := ParseManifest(b)
		if err != nil || !m.Signed() {
			return
		}
		reached := m.Chain([]string{trusted})
		for k := range reached {
			if m.Entries[k].AddedBy == "" {
				t.Fatalf("reached %s, which has no entry", k)
			}
		}
		_ = m.CheckList(reached)
		out, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("written back, it does not parse: %v", err)
		}
		if !bytes.Equal(m.ListMessage(), m2.ListMessage()) {
			t.Fatal("the list signed differs once written back")
		}
	})
}

// FuzzReadScope: a scope with or without a signature line parses or not,
// never panics, and what parses keeps its keys when written again.
func FuzzReadScope(f *testing.F) {
	if b, err := os.ReadFile("testdata/compat/v3.scope.age-recipients"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("# kr-signed v1 1 age1x AA\nage1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf\n"))
	f.Add([]byte("# kr-signed v1 1 2 3 4\n# kr-signed v1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, sig, err := ReadScope(b)
		if err != nil {
			return
		}
		k2, err := ParseScope(FormatScope("f", keys, nil))
		if err != nil || len(k2) != len(keys) {
			t.Fatalf("keys %q written back: %q %v", keys, k2, err)
		}
		if sig != nil {
			_ = sig.Verify("0123456789abcdef0123456789abcdef", "f", keys)
		}
	})
}
