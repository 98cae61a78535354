// Package otp makes the time-based one-time codes of RFC 6238 from a
// stored seed: an otpauth:// URI (Google Authenticator's key URI format)
// or a bare base32 seed.
package otp

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxURI bounds what Parse reads: a key URI is a few hundred bytes.
const MaxURI = 4096

// Key is a TOTP seed and how codes are made from it.
type Key struct {
	Secret    []byte
	Algorithm string // SHA1, SHA256 or SHA512
	Digits    int    // 6 or 8
	Period    time.Duration
}

// ErrNotTOTP means the value is neither a TOTP key URI nor a base32 seed.
var ErrNotTOTP = errors.New("not a TOTP seed")

// Parse reads a value as stored: an otpauth://totp/... URI, or a bare base32
// seed (blanks and a trailing newline allowed, padding optional), which
// gets the defaults SHA1, 6 digits, 30 seconds. Errors never quote the
// value: it is a secret.
func Parse(value []byte) (*Key, error) {
	if len(value) > MaxURI {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrNotTOTP, MaxURI)
	}
	v := strings.TrimSpace(string(value))
	if len(v) >= len("otpauth:") && strings.EqualFold(v[:len("otpauth:")], "otpauth:") {
		return parseURI(v)
	}
	secret, err := decodeSeed(v)
	if err != nil {
		return nil, err
	}
	return &Key{Secret: secret, Algorithm: "SHA1", Digits: 6, Period: 30 * time.Second}, nil
}

func parseURI(v string) (*Key, error) {
	u, err := url.Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%w: the otpauth URI does not parse", ErrNotTOTP)
	}
	if !strings.EqualFold(u.Host, "totp") {
		if strings.EqualFold(u.Host, "hotp") {
			return nil, fmt.Errorf("%w: an otpauth://hotp key counts events, not time; kr makes TOTP codes only", ErrNotTOTP)
		}
		return nil, fmt.Errorf("%w: the otpauth URI's type is not totp", ErrNotTOTP)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: the otpauth URI's parameters do not parse", ErrNotTOTP)
	}
	k := &Key{Algorithm: "SHA1", Digits: 6, Period: 30 * time.Second}
	if k.Secret, err = decodeSeed(q.Get("secret")); err != nil {
		return nil, err
	}
	if a := q.Get("algorithm"); a != "" {
		switch strings.ToUpper(a) {
		case "SHA1", "SHA256", "SHA512":
			k.Algorithm = strings.ToUpper(a)
		default:
			return nil, fmt.Errorf("%w: algorithm %q (want SHA1, SHA256 or SHA512)", ErrNotTOTP, a)
		}
	}
	if d := q.Get("digits"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n != 6 && n != 8 {
			return nil, fmt.Errorf("%w: digits %q (want 6 or 8)", ErrNotTOTP, d)
		}
		k.Digits = n
	}
	if p := q.Get("period"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 86400 {
			return nil, fmt.Errorf("%w: period %q (want seconds, 1 to 86400)", ErrNotTOTP, p)
		}
		k.Period = time.Duration(n) * time.Second
	}
	return k, nil
}

// decodeSeed reads a base32 seed as authenticator apps show them: any
// case, grouped by blanks or dashes, with or without padding.
func decodeSeed(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '\n', '\r':
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(strings.ToUpper(s), "=")
	if s == "" {
		return nil, fmt.Errorf("%w: the seed is empty", ErrNotTOTP)
	}
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%w: the seed is not base32", ErrNotTOTP)
	}
	return b, nil
}

// Code returns the code for time t.
func (k *Key) Code(t time.Time) string {
	step := uint64(t.Unix()) / uint64(k.Period/time.Second)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], step)
	var h func() hash.Hash
	switch k.Algorithm {
	case "SHA256":
		h = sha256.New
	case "SHA512":
		h = sha512.New
	default:
		h = sha1.New
	}
	m := hmac.New(h, k.Secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	mod := uint32(1_000_000)
	if k.Digits == 8 {
		mod = 100_000_000
	}
	return fmt.Sprintf("%0*d", k.Digits, bin%mod)
}

// Remaining is how long the code for t stays current.
func (k *Key) Remaining(t time.Time) time.Duration {
	p := int64(k.Period / time.Second)
	return time.Duration(p-t.Unix()%p) * time.Second
}

// Wipe clears the seed.
func (k *Key) Wipe() { clear(k.Secret) }
