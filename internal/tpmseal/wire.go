package tpmseal

// The TPM 2.0 wire forms of the five commands this package sends
// (TPM 2.0 Library, Part 3): every integer big-endian, every TPM2B a
// uint16 size and that many bytes. Commands that authorise a handle carry
// one password session (TPM_RS_PW), whose HMAC field is the auth value in
// the clear; nothing is encrypted on the wire, as with the library this
// replaces.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

const (
	stNoSessions = 0x8001
	stSessions   = 0x8002

	ccCreatePrimary = 0x00000131
	ccCreate        = 0x00000153
	ccLoad          = 0x00000157
	ccUnseal        = 0x0000015E
	ccFlushContext  = 0x00000165

	rhOwner = 0x40000001
	rsPW    = 0x40000009

	algAES       = 0x0006
	algKeyedHash = 0x0008
	algSHA256    = 0x000B
	algNull      = 0x0010
	algECC       = 0x0023
	algCFB       = 0x0043
	eccNistP256  = 0x0003

	attrFixedTPM            = 1 << 1
	attrFixedParent         = 1 << 4
	attrSensitiveDataOrigin = 1 << 5
	attrUserWithAuth        = 1 << 6
	attrNoDA                = 1 << 10
	attrRestricted          = 1 << 16
	attrDecrypt             = 1 << 17

	headerSize = 10
	// maxResponse bounds what is read from the TPM: the kernel's device
	// buffer, and far above any response to the commands sent here.
	maxResponse = 4096
)

func put16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func put32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func put2B(b, data []byte) []byte { return append(put16(b, uint16(len(data))), data...) }

// srkTemplate is the TPM2B_PUBLIC of the ECC storage root key template
// (TCG EK Credential Profile's "SRK template", P-256, AES-128-CFB, no
// scheme, a zero unique point): every call derives the same key from the
// owner seed.
func srkTemplate() []byte {
	var p []byte
	p = put16(p, algECC)
	p = put16(p, algSHA256)
	p = put32(p, attrFixedTPM|attrFixedParent|attrSensitiveDataOrigin|attrUserWithAuth|attrNoDA|attrRestricted|attrDecrypt)
	p = put2B(p, nil) // authPolicy
	p = put16(p, algAES)
	p = put16(p, 128)
	p = put16(p, algCFB)
	p = put16(p, algNull) // scheme
	p = put16(p, eccNistP256)
	p = put16(p, algNull) // kdf
	p = put2B(p, make([]byte, 32))
	p = put2B(p, make([]byte, 32))
	return put2B(nil, p)
}

// sealTemplate is the TPM2B_PUBLIC of a keyed-hash data object: no HMAC
// scheme, so it holds data only, readable with Unseal by the user auth.
func sealTemplate(noDA bool) []byte {
	attrs := uint32(attrFixedTPM | attrFixedParent | attrUserWithAuth)
	if noDA {
		attrs |= attrNoDA
	}
	var p []byte
	p = put16(p, algKeyedHash)
	p = put16(p, algSHA256)
	p = put32(p, attrs)
	p = put2B(p, nil)     // authPolicy
	p = put16(p, algNull) // scheme
	p = put2B(p, nil)     // unique
	return put2B(nil, p)
}

// sensitiveCreate is a TPM2B_SENSITIVE_CREATE: the user auth and the data.
func sensitiveCreate(auth, data []byte) []byte {
	var s []byte
	s = put2B(s, auth)
	s = put2B(s, data)
	return put2B(nil, s)
}

// command is a whole command: the header, handles, with auth != nil a
// password session for the first handle, and the parameters.
func command(cc uint32, handles []uint32, auth []byte, params ...[]byte) []byte {
	tag := uint16(stNoSessions)
	if auth != nil {
		tag = stSessions
	}
	c := put16(nil, tag)
	c = put32(c, 0) // size, set below
	c = put32(c, cc)
	for _, h := range handles {
		c = put32(c, h)
	}
	if auth != nil {
		var s []byte
		s = put32(s, rsPW)
		s = put2B(s, nil) // nonce
		s = append(s, 0)  // session attributes
		s = put2B(s, auth)
		c = put32(c, uint32(len(s)))
		c = append(c, s...)
	}
	for _, p := range params {
		c = append(c, p...)
	}
	binary.BigEndian.PutUint32(c[2:], uint32(len(c)))
	return c
}

// TPM response codes (Part 2, TPM_RC) this package tells apart.
const (
	rcFmt1      = 0x080
	rcAuthFail  = rcFmt1 + 0x00E
	rcIntegrity = rcFmt1 + 0x01F
	rcBadAuth   = rcFmt1 + 0x022
	rcLockout   = 0x900 + 0x021
	rcRetry     = 0x900 + 0x022
)

// TPMError is a response code other than success.
type TPMError uint32

// base is the code without the handle, parameter or session number a
// format-one code carries in bits 6 and 8-11.
func (e TPMError) base() uint32 {
	if e&rcFmt1 != 0 {
		return uint32(e) & 0xBF
	}
	return uint32(e)
}

func (e TPMError) Error() string {
	var what string
	switch e.base() {
	case rcAuthFail:
		what = "authorization failure (TPM_RC_AUTH_FAIL)"
	case rcBadAuth:
		what = "authorization failure (TPM_RC_BAD_AUTH)"
	case rcIntegrity:
		what = "integrity check failed (TPM_RC_INTEGRITY)"
	case rcLockout:
		what = "the TPM is in dictionary-attack lockout (TPM_RC_LOCKOUT)"
	case rcRetry:
		what = "the TPM stayed busy (TPM_RC_RETRY)"
	default:
		what = "error"
	}
	return fmt.Sprintf("TPM response code 0x%03X: %s", uint32(e), what)
}

var errResponse = errors.New("malformed TPM response")

// response is a parsed successful response: its handles and parameters.
type response struct {
	handles []uint32
	params  []byte
}

// parseResponse checks a response to a command with nHandles response
// handles and splits it; a TPM error comes back as a TPMError.
func parseResponse(r []byte, nHandles int) (*response, error) {
	if len(r) < headerSize {
		return nil, errResponse
	}
	tag := binary.BigEndian.Uint16(r)
	if size := binary.BigEndian.Uint32(r[2:]); size != uint32(len(r)) {
		return nil, errResponse
	}
	if rc := binary.BigEndian.Uint32(r[6:]); rc != 0 {
		if len(r) != headerSize {
			return nil, errResponse
		}
		return nil, TPMError(rc)
	}
	rest := r[headerSize:]
	if len(rest) < 4*nHandles {
		return nil, errResponse
	}
	out := &response{}
	for range nHandles {
		out.handles = append(out.handles, binary.BigEndian.Uint32(rest))
		rest = rest[4:]
	}
	switch tag {
	case stNoSessions:
		out.params = rest
	case stSessions:
		// The parameter size, the parameters, then the session area,
		// which a password session's caller has no use for.
		if len(rest) < 4 {
			return nil, errResponse
		}
		n := binary.BigEndian.Uint32(rest)
		if uint64(n) > uint64(len(rest)-4) {
			return nil, errResponse
		}
		out.params = rest[4 : 4+n]
	default:
		return nil, errResponse
	}
	return out, nil
}

// take2B splits a TPM2B off the front of b, its size prefix kept.
func take2B(b []byte) (tpm2b, rest []byte, err error) {
	if len(b) < 2 {
		return nil, nil, errResponse
	}
	n := 2 + int(binary.BigEndian.Uint16(b))
	if len(b) < n {
		return nil, nil, errResponse
	}
	return b[:n], b[n:], nil
}

// send sends cmd, again while the TPM answers TPM_RC_RETRY: a TPM says so
// when busy (for one, writing its dictionary-attack state to NV before it
// checks an auth value), and the caller is to wait and send the command
// again. The waits double from 1 ms, about 2 s in all.
func send(tpm TPM, cmd []byte) ([]byte, error) {
	for wait := time.Millisecond; ; wait *= 2 {
		r, err := tpm.Send(cmd)
		if err != nil || len(r) < headerSize || binary.BigEndian.Uint32(r[6:]) != rcRetry || wait > time.Second {
			return r, err
		}
		sleep(wait)
	}
}

var sleep = time.Sleep

// execute sends cmd and parses the response.
func execute(tpm TPM, cmd []byte, nHandles int) (*response, error) {
	r, err := send(tpm, cmd)
	if err != nil {
		return nil, err
	}
	return parseResponse(r, nHandles)
}

func createPrimary(tpm TPM) (uint32, error) {
	r, err := execute(tpm, command(ccCreatePrimary, []uint32{rhOwner}, []byte{},
		sensitiveCreate(nil, nil), srkTemplate(), put2B(nil, nil), put32(nil, 0)), 1)
	if err != nil {
		return 0, err
	}
	return r.handles[0], nil
}

// create returns the new object's TPM2B_PRIVATE and TPM2B_PUBLIC.
func create(tpm TPM, parent uint32, sensitive, public []byte) (priv, pub []byte, err error) {
	r, err := execute(tpm, command(ccCreate, []uint32{parent}, []byte{},
		sensitive, public, put2B(nil, nil), put32(nil, 0)), 0)
	if err != nil {
		return nil, nil, err
	}
	priv, rest, err := take2B(r.params)
	if err != nil {
		return nil, nil, err
	}
	pub, _, err = take2B(rest)
	if err != nil {
		return nil, nil, err
	}
	return priv, pub, nil
}

func load(tpm TPM, parent uint32, priv, pub []byte) (uint32, error) {
	r, err := execute(tpm, command(ccLoad, []uint32{parent}, []byte{}, priv, pub), 1)
	if err != nil {
		return 0, err
	}
	return r.handles[0], nil
}

func unseal(tpm TPM, item uint32, auth []byte) ([]byte, error) {
	if auth == nil {
		auth = []byte{}
	}
	raw, err := send(tpm, command(ccUnseal, []uint32{item}, auth))
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	r, err := parseResponse(raw, 0)
	if err != nil {
		return nil, err
	}
	data, _, err := take2B(r.params)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(data[2:]), nil
}

func flush(tpm TPM, h uint32) {
	execute(tpm, command(ccFlushContext, nil, nil, put32(nil, h)), 0)
}
