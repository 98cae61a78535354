package format

import (
	"bytes"
	"fmt"
	"testing"

	"filippo.io/age"
)

func TestParseScope(t *testing.T) {
	k := "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{k + "\n", true},
		{"# ops\r\n" + k + "\r\n\n", true},
		{"  " + k + "  ", false},
		{"", false},
		{"# nobody\n", false},
		{k + "\n" + k + "\n", false},
		{k + " # alice\n", false},
		{"age1nope\n", false},
	} {
		_, err := ParseScope([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

func FuzzParseScope(f *testing.F) {
	f.Add([]byte("# ops\nage1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"))
	f.Add([]byte("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\r\n\r\n"))
	f.Add([]byte("\n#\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseScope(b)
		if err != nil {
			return
		}
		// What kr reads, age -R reads the same.
		rs, err := age.ParseRecipients(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("kr accepts a scope age refuses: %v", err)
		}
		if len(rs) != len(keys) || len(keys) == 0 {
			t.Fatalf("kr reads %d keys, age %d", len(keys), len(rs))
		}
		for i, r := range rs {
			if fmt.Sprint(r) != keys[i] {
				t.Fatalf("key %d: kr %s, age %s", i, keys[i], r)
			}
		}
	})
}
