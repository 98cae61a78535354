package format

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestManifestDuplicateKeys: encoding/json lets a later key win and matches
// keys in any case, so kr would encrypt to B while a reviewer of vault.json
// sees A.
func TestManifestDuplicateKeys(t *testing.T) {
	const a = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	const b = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
	good := `{"version":1,"identity":"` + a + `","recipients":["` + a + `"]}`
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("a good manifest: %v", err)
	}
	for _, bad := range []string{
		`{"version":1,"identity":"` + a + `","recipients":["` + a + `"],"Recipients":["` + a + `","` + b + `"]}`,
		`{"version":1,"identity":"` + a + `","recipients":["` + a + `"],"recipients":["` + a + `","` + b + `"]}`,
		`{"version":1,"identity":"` + a + `","RECIPIENTS":["` + a + `","` + b + `"]}`,
		`{"version":1,"identity":"` + a + `","Identity":"` + b + `","recipients":["` + a + `","` + b + `"]}`,
		`{"version":1,"version":1,"identity":"` + a + `","recipients":["` + a + `"]}`,
		`{"version":1,"identity":"` + a + `","recipients":["` + a + `"],"extra":1}`,
		good + `{}`,
	} {
		if m, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("accepted %s as %+v", bad, m)
		}
	}
}

func TestParseManifestVersions(t *testing.T) {
	const r = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	for _, tc := range []struct {
		json string
		ok   bool
	}{
		{`{"version":1,"identity":"` + r + `","recipients":["` + r + `"]}`, true},
		{`{"version":1,"recipients":["` + r + `"]}`, false},
		{`{"version":2,"recipients":["` + r + `"]}`, true},
		{`{"version":2,"identity":"` + r + `","recipients":["` + r + `"]}`, false},
		{`{"version":2,"recipients":[]}`, false},
		{`{"version":3,"recipients":["` + r + `"]}`, false},
	} {
		_, err := ParseManifest([]byte(tc.json))
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.json, err, tc.ok)
		}
	}
}

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
		m, err := ParseManifest(b)
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
		if m.Version == PersonalVersion && !slices.Contains(m.Recipients, m.Identity) {
			t.Fatalf("accepted a manifest without its own identity: %+v", m)
		}
		// Written back, it reads the same.
		b2, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(b2)
		if err != nil || !slices.Equal(m2.Recipients, m.Recipients) || len(m2.Names) != len(m.Names) {
			t.Fatalf("round trip: %+v, %v", m2, err)
		}
	})
}
