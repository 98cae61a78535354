package format

import (
	"bytes"
	"slices"
	"testing"
)

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"))
	f.Add([]byte("age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg\nage1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := ParseRecord(b)
		if err != nil {
			return
		}
		// Accepted records are canonical: writing them back gives the input.
		body, _ := Record{keys}.Wrap(nil)
		if !bytes.Equal(body[0].Body, b) || !slices.IsSorted(keys) {
			t.Fatalf("record %q reads as %q", b, keys)
		}
	})
}
