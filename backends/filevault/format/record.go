package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
)

// Age files do not say who they are encrypted to, yet a shared vault must
// know: to re-encrypt what a sync left encrypted to an old set, and to name
// what a removed member could read. So every secret kr writes carries its
// recipient set in its own header, as one extra stanza:
//
//	-> kr-recipients v1
//	<base64 of "age1...\n" per recipient, sorted>
//
// Age identities skip stanzas of types they do not know (the format's
// extension point), so stock age and older kr read these files unchanged.
// The record travels with the ciphertext it describes: it merges, moves and
// is replaced with it, and can never drift from it. Like everything in a
// shared vault it is only as honest as whoever wrote the file; write
// access is trusted for integrity (see README, "Threat model").
const (
	recordType    = "kr-recipients"
	recordVersion = "v1"
)

// Record is the age.Recipient that writes the recipient record of a file
// encrypted to Keys, beside their X25519 recipients. It wraps nothing: the
// file key never reaches it.
type Record struct{ Keys []string }

// NewRecord is the record of keys, sorted as the format requires.
func NewRecord(keys []string) Record {
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	return Record{sorted}
}

func (r Record) Wrap([]byte) ([]*age.Stanza, error) {
	var body bytes.Buffer
	for _, k := range r.Keys {
		body.WriteString(k)
		body.WriteByte('\n')
	}
	return []*age.Stanza{{Type: recordType, Args: []string{recordVersion}, Body: body.Bytes()}}, nil
}

// errRecordSeen stops age's header walk once the stanzas are seen.
var errRecordSeen = errors.New("record read")

// stanzaReader is an age.Identity that only looks: age hands it the parsed
// header's stanzas, so kr never parses an age header itself.
type stanzaReader struct{ stanzas []*age.Stanza }

func (s *stanzaReader) Unwrap(st []*age.Stanza) ([]byte, error) {
	s.stanzas = st
	return nil, errRecordSeen
}

// ReadRecord returns the sorted recipient set recorded in the header of
// the age file r, reading the header only; ok is false for a file without
// a record (written before records existed, or by stock age). A damaged
// header or record is an error.
func ReadRecord(r io.Reader) (keys []string, ok bool, err error) {
	hdr, err := age.ExtractHeader(r)
	if err != nil {
		return nil, false, err
	}
	var sr stanzaReader
	if _, err := age.DecryptHeader(hdr, &sr); !errors.Is(err, errRecordSeen) {
		if err == nil {
			err = errors.New("header opened without a key")
		}
		return nil, false, err
	}
	for _, s := range sr.stanzas {
		if s.Type != recordType {
			continue
		}
		if ok {
			return nil, false, errors.New("two recipient records in one header")
		}
		if len(s.Args) != 1 || s.Args[0] != recordVersion {
			return nil, false, fmt.Errorf("recipient record of unknown version %q", s.Args)
		}
		if keys, err = ParseRecord(s.Body); err != nil {
			return nil, false, err
		}
		ok = true
	}
	return keys, ok, nil
}

// ParseRecord reads a record's body: age1 keys, one per line, sorted, each
// once.
func ParseRecord(body []byte) ([]string, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, errors.New("recipient record is not a list of lines")
	}
	lines := strings.Split(string(body[:len(body)-1]), "\n")
	for i, k := range lines {
		if _, err := age.ParseX25519Recipient(k); err != nil {
			return nil, fmt.Errorf("recipient record: %w", err)
		}
		if i > 0 && lines[i-1] >= k {
			return nil, errors.New("recipient record is not sorted or repeats a key")
		}
	}
	return lines, nil
}
