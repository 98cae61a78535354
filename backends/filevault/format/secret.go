package format

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/kr-keyring/kr/backends"
)

// headerPrefix starts every secret's plaintext; the name that follows binds
// the file to its name, so a file copied over another is detected.
const headerPrefix = "kr-secret/v1 "

// SecretPlaintext is what a secret's file encrypts: the header line that
// binds it to name, then value.
func SecretPlaintext(name string, value []byte) []byte {
	p := make([]byte, 0, len(headerPrefix)+len(name)+1+len(value))
	p = append(p, headerPrefix...)
	p = append(p, name...)
	p = append(p, '\n')
	return append(p, value...)
}

// ParseSecret splits a secret's plaintext into its bound name and value;
// value shares plain's memory. A signed secret's record is left out: see
// ReadSecret.
func ParseSecret(plain []byte) (name string, value []byte, err error) {
	s, err := ReadSecret(plain)
	return s.Name, s.Value, err
}

// ReadSecret reads a secret's plaintext, signed (kr-secret/v2) or not
// (kr-secret/v1); Value shares plain's memory.
func ReadSecret(plain []byte) (Secret, error) {
	if bytes.HasPrefix(plain, []byte(signedHeaderPrefix)) {
		return readSigned(plain)
	}
	name, value, err := parseUnsigned(plain)
	return Secret{Name: name, Value: value}, err
}

func parseUnsigned(plain []byte) (name string, value []byte, err error) {
	if !bytes.HasPrefix(plain, []byte(headerPrefix)) {
		return "", nil, errors.New("no kr-secret/v1 header")
	}
	rest := plain[len(headerPrefix):]
	nl := bytes.IndexByte(rest[:min(len(rest), backends.MaxNameSize+1)], '\n')
	if nl < 0 {
		return "", nil, errors.New("header line is not terminated")
	}
	name = string(rest[:nl])
	if err := backends.ValidateName(name); err != nil {
		return "", nil, fmt.Errorf("header: %w", err)
	}
	return name, rest[nl+1:], nil
}

// ConflictName is the name of a sync's copy n of secret name.
func ConflictName(name string, n int) string { return fmt.Sprintf("%s.conflict-%d", name, n) }

// IsConflictCopy reports whether name is a copy "BOUND.conflict-N" that a
// sync kept of secret bound: it holds bound's ciphertext as written, so its
// header names bound.
func IsConflictCopy(name, bound string) bool {
	rest, ok := strings.CutPrefix(name, bound+".conflict-")
	if !ok || rest == "" || rest[0] == '0' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}
