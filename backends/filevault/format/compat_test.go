package format

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"
)

// TestCompatibility reads vault files as kr has written them, committed in
// testdata/compat: every vault already in use, and every clone a teammate
// syncs from, holds these bytes. A change to the format must keep reading
// them, and writes the same bytes back where the format is canonical, so
// a sync between an old and a new kr merges without churn. A new version
// adds files here; it never edits these.
func TestCompatibility(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "compat", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const (
		alice = "age1pkujrasnc279ptpzlu4kwvk807g39answ789muqjnexwg7pwp4esc324yf"
		bob   = "age1pj7e83w4nw0q3zaeq8klpuln8gquhrqm4g8722m7zqvs368dr30s9jtnvw"
	)

	// A personal vault (version 1): its own identity, bare keys.
	v1 := read("v1.vault.json")
	m, err := ParseManifest(v1)
	if err != nil || m.Version != PersonalVersion || m.Shared() || m.Identity != alice || !slices.Equal(m.Recipients, []string{alice}) {
		t.Fatalf("v1.vault.json: %+v, %v", m, err)
	}
	if out, err := m.Marshal(); err != nil || !bytes.Equal(out, v1) {
		t.Errorf("v1.vault.json written back:\n%s%v", out, err)
	}

	// A shared vault (version 2): named members, and a bare key as written
	// before members had names.
	v2 := read("v2.vault.json")
	m, err = ParseManifest(v2)
	if err != nil || !m.Shared() || m.Identity != "" || !slices.Equal(m.Recipients, []string{alice, bob}) || m.Name(alice) != "alice" || m.Name(bob) != "" {
		t.Fatalf("v2.vault.json: %+v, %v", m, err)
	}
	if out, err := m.Marshal(); err != nil || !bytes.Equal(out, v2) {
		t.Errorf("v2.vault.json written back:\n%s%v", out, err)
	}
	if out, err := MergeManifest(v2, v2, v2); err != nil || !bytes.Equal(out, v2) {
		t.Errorf("v2.vault.json merged with itself:\n%s%v", out, err)
	}

	// A scope file, as age -R reads it too.
	scope := read("scope.age-recipients")
	keys, err := ParseScope(scope)
	if err != nil || !slices.Equal(keys, []string{alice, bob}) {
		t.Fatalf("scope: %q, %v", keys, err)
	}
	if out := FormatScope("prod", keys, map[string]string{alice: "alice"}); !bytes.Equal(out, scope) {
		t.Errorf("scope written back:\n%s", out)
	}

	// A secret: the recipient record in its age header, and the header line
	// binding the plaintext to its name. key.txt is alice's test identity.
	ct := read("secret.age")
	rec, ok, err := ReadRecord(bytes.NewReader(ct))
	if err != nil || !ok || !slices.Equal(rec, []string{bob, alice}) {
		t.Fatalf("record: %q, %v, %v", rec, ok, err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(read("key.txt")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(bytes.NewReader(ct), ids...)
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	name, value, err := ParseSecret(plain.Bytes())
	if err != nil || name != "db/Prod" || string(value) != "s3cret\n" {
		t.Fatalf("secret: %q %q %v", name, value, err)
	}
	if p := EscapeName(name) + SecretExt; p != "db/%50rod.age" {
		t.Errorf("db/Prod's file is %s", p)
	}

	// A signed vault (version 3): its chain from alice reaches bob, its
	// list and scope verify, and its secret's record verifies against the
	// header's recipient record. Written back byte for byte.
	const bobV3 = "age1jw92nzf2559p8puyxfvhv7y2g8gs0ejtmwham5guhr5tugv93deqz56wvg"
	v3 := read("v3.vault.json")
	m, err = ParseManifest(v3)
	if err != nil || !m.Signed() || m.Epoch != 2 || !slices.Equal(m.Recipients, []string{alice, bobV3}) {
		t.Fatalf("v3.vault.json: %+v, %v", m, err)
	}
	reached := m.Chain([]string{alice})
	if !reached[alice] || !reached[bobV3] || m.CheckList(reached) != nil {
		t.Fatalf("v3.vault.json: chain %v, list %v", reached, m.CheckList(reached))
	}
	if reached := m.Chain([]string{bobV3}); reached[alice] || m.CheckList(reached) == nil {
		t.Fatal("v3.vault.json: trusting bob alone reaches alice")
	}
	if out, err := m.Marshal(); err != nil || !bytes.Equal(out, v3) {
		t.Errorf("v3.vault.json written back:\n%s%v", out, err)
	}
	scope3 := read("v3.scope.age-recipients")
	keys, sig, err := ReadScope(scope3)
	if err != nil || sig == nil || !sig.Verify(m.VaultID, "prod", keys) || sig.Verify(m.VaultID, "dev", keys) {
		t.Fatalf("v3 scope: %q %+v %v", keys, sig, err)
	}
	ct = read("v3.secret.age")
	rec, ok, err = ReadRecord(bytes.NewReader(ct))
	if err != nil || !ok {
		t.Fatalf("v3 record: %v", err)
	}
	r, err = age.Decrypt(bytes.NewReader(ct), ids...)
	if err != nil {
		t.Fatal(err)
	}
	plain.Reset()
	if _, err := plain.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	sec, err := ReadSecret(plain.Bytes())
	if err != nil || sec.Name != "db/Prod" || string(sec.Value) != "s3cret\n" || sec.Signed == nil || sec.Signed.Counter != 3 {
		t.Fatalf("v3 secret: %+v %v", sec, err)
	}
	if !sec.Signed.Verify(sec.Name, rec, sec.Value) || sec.Signed.Verify(sec.Name, rec[:1], sec.Value) {
		t.Fatal("v3 secret: the signature does not cover name, recipients and value")
	}
	if !bytes.Equal(SignedPlaintext(sec.Name, *sec.Signed, sec.Value), plain.Bytes()) {
		t.Error("v3 secret written back differs")
	}
}
