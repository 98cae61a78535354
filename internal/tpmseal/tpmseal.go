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

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

const magic = "kr-tpm-seal/v1\n"

// ErrNotThisTPM means the TPM cannot load the sealed object: it was sealed
// by another TPM, or this one's storage seed changed (cleared, a new
// simulator state).
var ErrNotThisTPM = errors.New("this TPM does not hold the key the secret was sealed with (another machine's TPM, or this one was cleared)")

// ErrBadPIN means the TPM refused the PIN.
var ErrBadPIN = errors.New("the TPM refused the PIN")

func srk(tpm transport.TPM) (*tpm2.CreatePrimaryResponse, func(), error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHOwner,
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(tpm)
	if err != nil {
		return nil, nil, fmt.Errorf("create the storage root key: %w", err)
	}
	return rsp, func() { tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(tpm) }, nil
}

// Seal seals secret (at most 128 bytes) with pin (nil for none).
func Seal(tpm transport.TPM, secret, pin []byte) ([]byte, error) {
	s, flush, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flush()
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: s.ObjectHandle, Name: s.Name, Auth: tpm2.PasswordAuth(nil)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			UserAuth: tpm2.TPM2BAuth{Buffer: pin},
			Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(tpm2.TPMTPublic{
			Type:    tpm2.TPMAlgKeyedHash,
			NameAlg: tpm2.TPMAlgSHA256,
			ObjectAttributes: tpm2.TPMAObject{
				FixedTPM:     true,
				FixedParent:  true,
				UserWithAuth: true,
				// Without a PIN there is nothing to guess; with one, the
				// TPM's dictionary-attack lockout guards it.
				NoDA: len(pin) == 0,
			},
		}),
	}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	pub, priv := tpm2.Marshal(rsp.OutPublic), tpm2.Marshal(rsp.OutPrivate)
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

func parse(blob []byte) (*tpm2.TPM2BPublic, *tpm2.TPM2BPrivate, error) {
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
		return b
	}
	pb, vb := next(), next()
	if pb == nil || vb == nil || len(rest) != 0 {
		return nil, nil, errDamaged
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pb)
	if err != nil {
		return nil, nil, errDamaged
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](vb)
	if err != nil {
		return nil, nil, errDamaged
	}
	return pub, priv, nil
}

// Unseal returns the secret sealed in blob.
func Unseal(tpm transport.TPM, blob, pin []byte) ([]byte, error) {
	pub, priv, err := parse(blob)
	if err != nil {
		return nil, err
	}
	s, flush, err := srk(tpm)
	if err != nil {
		return nil, err
	}
	defer flush()
	l, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: s.ObjectHandle, Name: s.Name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    *priv,
		InPublic:     *pub,
	}.Execute(tpm)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotThisTPM, err)
	}
	defer tpm2.FlushContext{FlushHandle: l.ObjectHandle}.Execute(tpm)
	u, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: l.ObjectHandle, Name: l.Name, Auth: tpm2.PasswordAuth(pin)}}.Execute(tpm)
	if err != nil {
		if errors.Is(err, tpm2.TPMRCAuthFail) || errors.Is(err, tpm2.TPMRCBadAuth) {
			return nil, ErrBadPIN
		}
		return nil, fmt.Errorf("unseal: %w", err)
	}
	return u.OutData.Buffer, nil
}
