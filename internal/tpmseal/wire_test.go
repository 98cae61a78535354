package tpmseal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// recorder keeps the command go-tpm sends and answers with an error, so
// the test sees go-tpm's wire form of a command without a TPM.
type recorder struct{ cmd []byte }

func (r *recorder) Send(cmd []byte) ([]byte, error) {
	r.cmd = bytes.Clone(cmd)
	return []byte{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01}, nil // TPM_RC_FAILURE
}

// goTPMSealTemplate is the keyed-hash template the go-tpm based version of
// this package sealed with.
func goTPMSealTemplate(noDA bool) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgKeyedHash,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:     true,
			FixedParent:  true,
			UserWithAuth: true,
			NoDA:         noDA,
		},
	}
}

func TestTemplatesMatchGoTPM(t *testing.T) {
	if got, want := srkTemplate(), tpm2.Marshal(tpm2.New2B(tpm2.ECCSRKTemplate)); !bytes.Equal(got, want) {
		t.Errorf("SRK template\n got %x\nwant %x", got, want)
	}
	for _, noDA := range []bool{false, true} {
		if got, want := sealTemplate(noDA), tpm2.Marshal(tpm2.New2B(goTPMSealTemplate(noDA))); !bytes.Equal(got, want) {
			t.Errorf("seal template (noDA %v)\n got %x\nwant %x", noDA, got, want)
		}
	}
}

func TestCommandsMatchGoTPM(t *testing.T) {
	const parent, item = 0x80000001, 0x80000002
	pin, secret := []byte("1234"), []byte("the secret")
	pub := sealTemplate(false)
	priv := put2B(nil, []byte("an encrypted private part"))
	auth := func(h tpm2.TPMHandle, pw []byte) tpm2.AuthHandle {
		// The name only enters HMAC sessions; go-tpm wants one for a
		// transient handle all the same.
		return tpm2.AuthHandle{Handle: h, Name: tpm2.TPM2BName{Buffer: []byte{0, 4, 1, 2, 3, 4}}, Auth: tpm2.PasswordAuth(pw)}
	}
	for _, c := range []struct {
		name string
		mine []byte
		run  func(tpm *recorder)
	}{
		{"CreatePrimary", command(ccCreatePrimary, []uint32{rhOwner}, []byte{},
			sensitiveCreate(nil, nil), srkTemplate(), put2B(nil, nil), put32(nil, 0)),
			func(tpm *recorder) {
				tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tpm)
			}},
		{"Create", command(ccCreate, []uint32{parent}, []byte{},
			sensitiveCreate(pin, secret), sealTemplate(false), put2B(nil, nil), put32(nil, 0)),
			func(tpm *recorder) {
				tpm2.Create{
					ParentHandle: auth(parent, nil),
					InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
						UserAuth: tpm2.TPM2BAuth{Buffer: pin},
						Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
					}},
					InPublic: tpm2.New2B(goTPMSealTemplate(false)),
				}.Execute(tpm)
			}},
		{"Load", command(ccLoad, []uint32{parent}, []byte{}, priv, pub),
			func(tpm *recorder) {
				p, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pub)
				if err != nil {
					t.Fatal(err)
				}
				v, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](priv)
				if err != nil {
					t.Fatal(err)
				}
				tpm2.Load{ParentHandle: auth(parent, nil), InPrivate: *v, InPublic: *p}.Execute(tpm)
			}},
		{"Unseal", command(ccUnseal, []uint32{item}, pin),
			func(tpm *recorder) { tpm2.Unseal{ItemHandle: auth(item, pin)}.Execute(tpm) }},
		{"FlushContext", command(ccFlushContext, nil, nil, put32(nil, item)),
			func(tpm *recorder) { tpm2.FlushContext{FlushHandle: tpm2.TPMHandle(item)}.Execute(tpm) }},
	} {
		var r recorder
		c.run(&r)
		if !bytes.Equal(c.mine, r.cmd) {
			t.Errorf("%s\n got %x\nwant %x", c.name, c.mine, r.cmd)
		}
	}
}

// fakeTPM answers each command with the next canned response.
type fakeTPM struct{ responses [][]byte }

func (f *fakeTPM) Send([]byte) ([]byte, error) {
	if len(f.responses) == 0 {
		return nil, errors.New("no more responses")
	}
	r := f.responses[0]
	f.responses = f.responses[1:]
	return r, nil
}

func rcResponse(rc uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{0x80, 0x01, 0, 0, 0, 10}, rc)
}

// handleResponse is a successful response with one handle and no
// parameters, in the sessions form a command with a password session gets.
func handleResponse(h uint32) []byte {
	r := []byte{0x80, 0x02, 0, 0, 0, 0, 0, 0, 0, 0}
	r = put32(r, h)
	r = put32(r, 0)              // parameter size
	r = append(r, 0, 0, 1, 0, 0) // the session: nonce, attributes, hmac
	binary.BigEndian.PutUint32(r[2:], uint32(len(r)))
	return r
}

func TestResponseCodes(t *testing.T) {
	blob := append([]byte(magic), 1)
	blob = put16(blob, uint16(len(sealTemplate(false))))
	blob = append(blob, sealTemplate(false)...)
	priv := put2B(nil, []byte("private"))
	blob = put16(blob, uint16(len(priv)))
	blob = append(blob, priv...)
	ok := []byte{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0}
	for _, c := range []struct {
		load, unseal uint32
		want         error
	}{
		{0, 0x08E, ErrBadPIN}, // TPM_RC_AUTH_FAIL
		{0, 0x98E, ErrBadPIN}, // the same for session 1
		{0, 0x0A2, ErrBadPIN}, // TPM_RC_BAD_AUTH
		{0, 0x9A2, ErrBadPIN},
		{0x09F, 0, ErrNotThisTPM}, // TPM_RC_INTEGRITY
		{0x1DF, 0, ErrNotThisTPM}, // the same for parameter 1
		{0x2DF, 0, ErrNotThisTPM}, // for parameter 2
	} {
		rs := [][]byte{handleResponse(0x80000000)}
		if c.load != 0 {
			rs = append(rs, rcResponse(c.load), ok)
		} else {
			rs = append(rs, handleResponse(0x80000001), rcResponse(c.unseal), ok, ok)
		}
		_, err := Unseal(&fakeTPM{rs}, blob, []byte("pin"))
		if !errors.Is(err, c.want) {
			t.Errorf("load 0x%03X, unseal 0x%03X: %v, want %v", c.load, c.unseal, err, c.want)
		}
	}
	// Other codes are neither: a lockout is not a wrong PIN, nor the
	// TPM out of memory a wrong TPM.
	for _, c := range []struct{ load, unseal uint32 }{{0, 0x921}, {0, 0x9A3}, {0x904, 0}, {0x1D5, 0}} {
		rs := [][]byte{handleResponse(0x80000000)}
		if c.load != 0 {
			rs = append(rs, rcResponse(c.load), ok)
		} else {
			rs = append(rs, handleResponse(0x80000001), rcResponse(c.unseal), ok, ok)
		}
		_, err := Unseal(&fakeTPM{rs}, blob, []byte("pin"))
		var rc TPMError
		if err == nil || errors.Is(err, ErrBadPIN) || errors.Is(err, ErrNotThisTPM) || !errors.As(err, &rc) {
			t.Errorf("load 0x%03X, unseal 0x%03X: %v", c.load, c.unseal, err)
		}
	}
}

func TestParseResponse(t *testing.T) {
	r, err := parseResponse(handleResponse(0x80000007), 1)
	if err != nil || len(r.handles) != 1 || r.handles[0] != 0x80000007 || len(r.params) != 0 {
		t.Fatalf("%+v, %v", r, err)
	}
	for _, bad := range [][]byte{
		nil,
		{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0},                // short
		{0x80, 0x01, 0, 0, 0, 11, 0, 0, 0, 0},             // size past the end
		{0x80, 0x01, 0, 0, 0, 10, 0, 0, 0, 0, 0},          // size short of the end
		{0x80, 0x03, 0, 0, 0, 14, 0, 0, 0, 0, 1, 2, 3, 4}, // unknown tag
		{0x80, 0x02, 0, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 1}, // parameters past the end
	} {
		if _, err := parseResponse(bad, 0); !errors.Is(err, errResponse) {
			t.Errorf("%x: %v", bad, err)
		}
	}
	if _, err := parseResponse(handleResponse(1)[:10], 1); err == nil {
		t.Error("a response without its handle parsed")
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(handleResponse(0x80000000), 1)
	f.Add(rcResponse(0x98E), 0)
	f.Add([]byte{0x80, 0x02, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 'h', 'i', 0, 0}, 0)
	f.Fuzz(func(t *testing.T, b []byte, nHandles int) {
		nHandles &= 3
		r, err := parseResponse(b, nHandles)
		if err != nil {
			var rc TPMError
			if !errors.Is(err, errResponse) && !errors.As(err, &rc) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if binary.BigEndian.Uint32(b[2:]) != uint32(len(b)) || len(r.handles) != nHandles ||
			headerSize+4*nHandles+len(r.params) > len(b) {
			t.Fatalf("%x parsed as %+v", b, r)
		}
		if d, _, err := take2B(r.params); err == nil && len(d) > len(r.params) {
			t.Fatalf("TPM2B of %d from %d bytes", len(d), len(r.params))
		}
	})
}

// A busy TPM answers TPM_RC_RETRY; the command is sent again.
func TestRetry(t *testing.T) {
	var waited time.Duration
	sleep = func(d time.Duration) { waited += d }
	t.Cleanup(func() { sleep = time.Sleep })
	tpm := &fakeTPM{[][]byte{rcResponse(0x922), rcResponse(0x922), handleResponse(0x80000005)}}
	h, err := createPrimary(tpm)
	if err != nil || h != 0x80000005 {
		t.Fatalf("%x, %v", h, err)
	}
	busy := &fakeTPM{}
	for range 20 {
		busy.responses = append(busy.responses, rcResponse(0x922))
	}
	_, err = createPrimary(busy)
	var rc TPMError
	if !errors.As(err, &rc) || rc != 0x922 || len(busy.responses) == 0 {
		t.Fatalf("a TPM busy for good: %v, %d responses left", err, len(busy.responses))
	}
	if waited < time.Second || waited > 5*time.Second {
		t.Errorf("waited %v in all for a busy TPM", waited)
	}
}
