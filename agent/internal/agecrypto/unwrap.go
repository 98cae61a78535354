package agecrypto

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strconv"

	"filippo.io/age"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"

	"github.com/kr-keyring/kr/backends/filevault/format"
)

// maxScryptLogN caps the work a hostile identity file can ask for: the
// vault format's one cap, which kr's own unwrapping uses too, so a file one
// end opens, the other does.
const maxScryptLogN = format.MaxScryptWorkFactor

// scryptIdentity unwraps age's scrypt stanza with a passphrase held as
// bytes: age's own ScryptIdentity takes a string, which cannot be wiped.
type scryptIdentity struct{ pass []byte }

func (i *scryptIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != "scrypt" {
			continue
		}
		if len(s.Args) != 2 {
			return nil, errors.New("invalid scrypt stanza")
		}
		salt, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
		if err != nil || len(salt) != 16 {
			return nil, errors.New("invalid scrypt salt")
		}
		logN, err := strconv.Atoi(s.Args[1])
		if err != nil || logN <= 0 || logN > maxScryptLogN || strconv.Itoa(logN) != s.Args[1] {
			return nil, errors.New("invalid or too large scrypt work factor")
		}
		key, err := scryptKey(i.pass, append([]byte("age-encryption.org/v1/scrypt"), salt...), 1<<logN, 8, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		defer clear(key)
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			return nil, err
		}
		fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
		if err != nil {
			return nil, age.ErrIncorrectIdentity
		}
		return fileKey, nil
	}
	return nil, age.ErrIncorrectIdentity
}

// OpenIdentityFile decrypts identity.age (one STREAM chunk: identity files
// are a few hundred bytes) with pass into a buffer of our own, so that the
// key's text leaves no copy in buffers we cannot wipe. The caller wipes
// the result. A wrong passphrase is an *age.NoIdentityMatchError.
func OpenIdentityFile(wrapped, pass []byte) ([]byte, error) {
	end := bytes.Index(wrapped, []byte("\n--- "))
	if end < 0 {
		return nil, errors.New("no age header")
	}
	nl := bytes.IndexByte(wrapped[end+1:], '\n')
	if nl < 0 {
		return nil, errors.New("truncated header")
	}
	hdrEnd := end + 1 + nl + 1
	fileKey, err := age.DecryptHeader(wrapped[:hdrEnd], &scryptIdentity{pass: pass})
	if err != nil {
		return nil, err
	}
	defer clear(fileKey)
	payload := wrapped[hdrEnd:]
	if len(payload) < 16+chacha20poly1305.Overhead || len(payload) > 16+64<<10+chacha20poly1305.Overhead {
		return nil, errors.New("payload is not one chunk")
	}
	key := make([]byte, chacha20poly1305.KeySize)
	defer clear(key)
	if _, err := io.ReadFull(hkdf.New(sha256.New, fileKey, payload[:16], []byte("payload")), key); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	nonce[len(nonce)-1] = 1 // chunk 0, the last
	plain, err := aead.Open(nil, nonce[:], payload[16:], nil)
	if err != nil {
		return nil, errors.New("damaged payload")
	}
	return plain, nil
}
