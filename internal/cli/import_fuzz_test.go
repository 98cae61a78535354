package cli

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/envref"
)

// FuzzKeepNamesRoundTrip: any value export --keep-names writes, import
// reads back byte for byte under the same name; and whatever JSON import is
// given, it returns entries or an error, never a panic.
func FuzzKeepNamesRoundTrip(f *testing.F) {
	f.Add("db/prod", []byte("v"), []byte(`{"a": "b"}`))
	f.Add("bin", []byte{0, 0xff, '\r', '\n'}, []byte(`{"a": {"base64": "AP8="}}`))
	f.Add("ref", []byte("kr://db/prod"), []byte(`{"a": {"base64": 1}}`))
	f.Fuzz(func(t *testing.T, name string, value, raw []byte) {
		parseImport(raw, "json", "f.json")
		if backends.ValidateName(name) != nil {
			return // export writes stored names only
		}
		nv := namedValue{text: string(value)}
		if _, ref := envref.RefName(string(value)); !utf8.Valid(value) || ref {
			nv = namedValue{binary: value}
		}
		b, err := json.Marshal(map[string]namedValue{name: nv})
		if err != nil {
			t.Fatal(err)
		}
		entries, err := parseImport(b, "json", "f.json")
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if len(entries) != 1 || entries[0].key != name || entries[0].value != string(value) {
			t.Fatalf("%q %q came back as %+v", name, value, entries)
		}
	})
}
