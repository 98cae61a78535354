package filevault

import (
	"bufio"
	"bytes"
	"fmt"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// encryptTo encrypts plain to keys (age1 X25519 recipients) and records
// them in the header (format.Record).
func encryptTo(plain []byte, keys []string) ([]byte, error) {
	rec := format.NewRecord(keys)
	rs := make([]age.Recipient, 0, len(rec.Keys)+1)
	for _, k := range rec.Keys {
		r, err := age.ParseX25519Recipient(k)
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %w", k, err)
		}
		rs = append(rs, r)
	}
	return encrypt(plain, append(rs, rec)...)
}

// readRecord is format.ReadRecord for a whole ciphertext.
func readRecord(ciphertext []byte) (keys []string, ok bool, err error) {
	return format.ReadRecord(bytes.NewReader(ciphertext))
}

// readRecordFile is format.ReadRecord for the vault file at path, reading
// its header only.
func readRecordFile(path string) (keys []string, ok bool, err error) {
	f, err := openChecked(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return format.ReadRecord(bufio.NewReader(f))
}
