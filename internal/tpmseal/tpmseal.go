// Package tpmseal seals a short secret to a TPM 2.0: the secret is a
// keyed-hash object created under the TPM's storage root key (the ECC SRK
// of the owner hierarchy, which the TPM derives again from its seed at
// each use), so only that TPM, with its seed unchanged, loads and unseals
// it. An optional PIN is the object's auth value. The blob this package
// returns is the object's public and private parts (the private part is
// encrypted by the TPM) and is no secret on its own.
package tpmseal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

const magic = "kr-tpm-seal/v1\n"

// TPM sends a TPM 2.0 command and returns the TPM's response.
type TPM interface {
	Send(cmd []byte) ([]byte, error)
}

// Device is a TPM that Open opened, to close when done.
type Device interface {
	TPM
	Close() error
}

// ErrNotThisTPM means the TPM cannot load the sealed object: it was sealed
// by another TPM, or this one's storage seed changed (cleared, a new
// simulator state).
var ErrNotThisTPM = errors.New("this TPM does not hold the key the secret was sealed with (another machine's TPM, or this one was cleared)")

// ErrBadPIN means the TPM refused the PIN.
var ErrBadPIN = errors.New("the TPM refused the PIN")

func srk(tpm TPM) (uint32, func(), error) {
	h, err := createPrimary(tpm)
	if err != nil {
		return 0, nil, fmt.Errorf("create the storage root key: %w", err)
	}
	return h, func() { flush(tpm, h) }, nil
}

// Seal seals secret (at most 128 bytes) with pin (nil for none).
func Seal(tpm TPM, secret, pin []byte) ([]byte, error) {
	s, flushSRK, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flushSRK()
	// Without a PIN there is nothing to guess; with one, the TPM's
	// dictionary-attack lockout guards it.
	priv, pub, err := create(tpm, s, sensitiveCreate(pin, secret), sealTemplate(len(pin) == 0))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := []byte(magic)
	if len(pin) > 0 {
		out = append(out, 1)
	} else {
		out = append(out, 0)
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(pub)))
	out = append(out, pub...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(priv)))
	return append(out, priv...), nil
}

// HasPIN reports whether blob was sealed with a PIN.
func HasPIN(blob []byte) bool {
	return len(blob) > len(magic) && string(blob[:len(magic)]) == magic && blob[len(magic)] == 1
}

var errDamaged = errors.New("the sealed object is damaged")

// parse splits blob into the object's TPM2B_PUBLIC and TPM2B_PRIVATE,
// each as the TPM wrote it (its own size prefix included).
func parse(blob []byte) (pub, priv []byte, err error) {
	if len(blob) < len(magic)+1 || string(blob[:len(magic)]) != magic {
		return nil, nil, errDamaged
	}
	rest := blob[len(magic)+1:]
	next := func() []byte {
		if len(rest) < 2 {
			return nil
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) < 2+n {
			return nil
		}
		b := rest[2 : 2+n]
		rest = rest[2+n:]
		// Each is itself a TPM2B that fills its part exactly.
		if len(b) < 2 || int(binary.BigEndian.Uint16(b)) != len(b)-2 {
			return nil
		}
		return b
	}
	pb, vb := next(), next()
	if pb == nil || vb == nil || len(rest) != 0 {
		return nil, nil, errDamaged
	}
	return pb, vb, nil
}

// Unseal returns the secret sealed in blob.
func Unseal(tpm TPM, blob, pin []byte) ([]byte, error) {
	pub, priv, err := parse(blob)
	if err != nil {
		return nil, err
	}
	s, flushSRK, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flushSRK()
	l, err := load(tpm, s, priv, pub)
	if err != nil {
		var rc TPMError
		if errors.As(err, &rc) && rc.base() == rcIntegrity {
			return nil, fmt.Errorf("%w: %v", ErrNotThisTPM, err)
		}
		return nil, fmt.Errorf("load the sealed object: %w", err)
	}
	defer flush(tpm, l)
	u, err := unseal(tpm, l, pin)
	if err != nil {
		var rc TPMError
		if errors.As(err, &rc) && (rc.base() == rcAuthFail || rc.base() == rcBadAuth) {
			return nil, ErrBadPIN
		}
		return nil, fmt.Errorf("unseal: %w", err)
	}
	return u, nil
}
