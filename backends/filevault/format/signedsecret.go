package format

// A signed vault's secret carries its writer's signature inside the
// encrypted plaintext, on the line after the name binding:
//
//	kr-secret/v2 NAME
//	kr-signed v1 VAULT EPOCH COUNTER WRITER SIGNATURE
//	VALUE
//
// age writes and MACs its whole header before the first byte of payload
// exists, so a header stanza cannot carry a signature over the value; kr
// puts it beside the name binding it already wrote, where only the
// file's readers see it (a signature or hash of a value where a non-reader
// can see it would let them test guesses). Stock `age -d` still decrypts
// the file: the two lines come out before the value, as the name line
// always has.
//
// The signature covers the vault's id, the name, the membership epoch, a
// per-name counter, the sorted recipient set (the record in the age
// header, ReadRecord) and a SHA-512 of the value: swapping files, replaying
// an older one, re-encrypting to other readers or changing a byte of the
// value breaks it.

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/xeddsa"
)

const (
	signedHeaderPrefix = "kr-secret/v2 "
	signedLinePrefix   = "kr-signed v1 "
	// maxSignedLine bounds the signature line: the fields' longest forms.
	maxSignedLine = len(signedLinePrefix) + VaultIDLen + 2*20 + 100 + 88 + 8
)

// Signature is a signed secret's record.
type Signature struct {
	VaultID string
	Epoch   uint64 // the membership epoch the writer wrote at
	Counter uint64 // raised by every write of the name
	Writer  string // the writer's age1 key
	Sig     []byte
}

// Secret is a secret's plaintext, read.
type Secret struct {
	Name   string
	Value  []byte
	Signed *Signature // nil for an unsigned (kr-secret/v1) secret
}

// SecretMessage is what a secret's writer signs; recipients are sorted.
func SecretMessage(s Signature, name string, recipients []string, value []byte) []byte {
	var b bytes.Buffer
	b.WriteString("kr-secret/v2\nvault " + s.VaultID + "\nname " + name +
		"\nepoch " + strconv.FormatUint(s.Epoch, 10) + "\ncounter " + strconv.FormatUint(s.Counter, 10) +
		"\nwriter " + s.Writer + "\n")
	for _, r := range recipients {
		b.WriteString("recipient " + r + "\n")
	}
	sum := sha512.Sum512(value)
	b.WriteString("value ")
	b.Write(sum[:])
	clear(sum[:])
	return b.Bytes()
}

// Verify checks s as the signature of name, value and recipients.
func (s *Signature) Verify(name string, recipients []string, value []byte) bool {
	msg := SecretMessage(*s, name, recipients, value)
	defer clear(msg)
	return xeddsa.VerifyRecipient(s.Writer, msg, s.Sig)
}

// SignedPlaintext is what a signed secret's file encrypts.
func SignedPlaintext(name string, s Signature, value []byte) []byte {
	line := signedLinePrefix + s.VaultID + " " + strconv.FormatUint(s.Epoch, 10) + " " +
		strconv.FormatUint(s.Counter, 10) + " " + s.Writer + " " + base64.StdEncoding.EncodeToString(s.Sig) + "\n"
	p := make([]byte, 0, len(signedHeaderPrefix)+len(name)+1+len(line)+len(value))
	p = append(p, signedHeaderPrefix...)
	p = append(p, name...)
	p = append(p, '\n')
	p = append(p, line...)
	return append(p, value...)
}

func readSigned(plain []byte) (Secret, error) {
	rest := plain[len(signedHeaderPrefix):]
	nl := bytes.IndexByte(rest[:min(len(rest), backends.MaxNameSize+1)], '\n')
	if nl < 0 {
		return Secret{}, errors.New("header line is not terminated")
	}
	name := string(rest[:nl])
	if err := backends.ValidateName(name); err != nil {
		return Secret{}, fmt.Errorf("header: %w", err)
	}
	rest = rest[nl+1:]
	nl = bytes.IndexByte(rest[:min(len(rest), maxSignedLine)], '\n')
	if nl < 0 || !bytes.HasPrefix(rest, []byte(signedLinePrefix)) {
		return Secret{}, errors.New("no kr-signed line after the header")
	}
	s, err := parseSignedLine(string(rest[len(signedLinePrefix):nl]))
	if err != nil {
		return Secret{}, fmt.Errorf("kr-signed line: %w", err)
	}
	return Secret{Name: name, Value: rest[nl+1:], Signed: s}, nil
}

func parseSignedLine(line string) (*Signature, error) {
	f := strings.Split(line, " ")
	if len(f) != 5 {
		return nil, errors.New("not five fields")
	}
	if err := ValidVaultID(f[0]); err != nil {
		return nil, err
	}
	epoch, err := parseCount(f[1])
	if err != nil || epoch == 0 {
		return nil, errors.New("bad epoch")
	}
	counter, err := parseCount(f[2])
	if err != nil || counter == 0 {
		return nil, errors.New("bad counter")
	}
	if _, err := age.ParseX25519Recipient(f[3]); err != nil || strings.ToLower(f[3]) != f[3] {
		return nil, errors.New("the writer is not an age1 key")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(f[4])
	if err != nil || len(sig) != xeddsa.SignatureSize || base64.StdEncoding.EncodeToString(sig) != f[4] {
		return nil, errors.New("bad signature encoding")
	}
	return &Signature{VaultID: f[0], Epoch: epoch, Counter: counter, Writer: f[3], Sig: sig}, nil
}

// parseCount reads a decimal count as kr writes it: no sign, no leading
// zero.
func parseCount(s string) (uint64, error) {
	if s == "" || (s[0] == '0' && len(s) > 1) || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a count")
	}
	return strconv.ParseUint(s, 10, 64)
}
