package tpmseal

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/kr-keyring/kr/internal/tpmseal/swtpmtest"
)

// startSWTPM runs a software TPM 2.0 (swtpm) with its state in stateDir
// and opens it. The socket is bound here and handed to swtpm, so it
// accepts at once: nothing waits for the simulator to start.
func startSWTPM(t *testing.T, stateDir string) Device {
	t.Helper()
	sock := swtpmtest.Start(t, stateDir)
	tpm, err := Open(context.Background(), "unix:"+sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tpm.Close() })
	return tpm
}

func TestSealUnsealSWTPM(t *testing.T) {
	state := t.TempDir()
	tpm := startSWTPM(t, state)
	secret := []byte("32 bytes of a binding key here!!")
	blob, err := Seal(tpm, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if HasPIN(blob) {
		t.Error("a blob sealed without a PIN says it has one")
	}
	if bytes.Contains(blob, secret) {
		t.Error("the blob holds the secret in the clear")
	}
	got, err := Unseal(tpm, blob, nil)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("unseal: %q, %v", got, err)
	}
	// The handles were flushed: a TPM holds only a few transient objects,
	// and a leak would fail after some rounds.
	for range 5 {
		if _, err := Unseal(tpm, blob, nil); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := Unseal(startSWTPM(t, t.TempDir()), blob, nil); !errors.Is(err, ErrNotThisTPM) {
		t.Errorf("another TPM: %v, want ErrNotThisTPM", err)
	}
}

func TestPINSWTPM(t *testing.T) {
	tpm := startSWTPM(t, t.TempDir())
	secret, pin := []byte("binding key"), []byte("2468")
	blob, err := Seal(tpm, secret, pin)
	if err != nil {
		t.Fatal(err)
	}
	if !HasPIN(blob) {
		t.Error("a blob sealed with a PIN says it has none")
	}
	if got, err := Unseal(tpm, blob, pin); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("right PIN: %q, %v", got, err)
	}
	for _, wrong := range [][]byte{[]byte("2469"), nil} {
		got, err := Unseal(tpm, blob, wrong)
		if !errors.Is(err, ErrBadPIN) || got != nil {
			t.Errorf("PIN %q: %q, %v, want ErrBadPIN", wrong, got, err)
		}
	}
}

// goTPMSeal and goTPMUnseal are this package as it was on go-tpm: blobs
// sealed by either open with the other.
func goTPMSeal(t *testing.T, tpm TPM, secret, pin []byte) []byte {
	t.Helper()
	p, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: p.ObjectHandle}.Execute(tpm)
	rsp, err := tpm2.Create{
		ParentHandle: tpm2.AuthHandle{Handle: p.ObjectHandle, Name: p.Name, Auth: tpm2.PasswordAuth(nil)},
		InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
			UserAuth: tpm2.TPM2BAuth{Buffer: pin},
			Data:     tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
		}},
		InPublic: tpm2.New2B(goTPMSealTemplate(len(pin) == 0)),
	}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv := tpm2.Marshal(rsp.OutPublic), tpm2.Marshal(rsp.OutPrivate)
	out := append([]byte(magic), 0)
	if len(pin) > 0 {
		out[len(out)-1] = 1
	}
	out = binary.BigEndian.AppendUint16(out, uint16(len(pub)))
	out = append(out, pub...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(priv)))
	return append(out, priv...)
}

func goTPMUnseal(t *testing.T, tpm TPM, blob, pin []byte) []byte {
	t.Helper()
	pb, vb, err := parse(blob)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := tpm2.Unmarshal[tpm2.TPM2BPublic](pb)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := tpm2.Unmarshal[tpm2.TPM2BPrivate](vb)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tpm2.ECCSRKTemplate)}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: p.ObjectHandle}.Execute(tpm)
	l, err := tpm2.Load{
		ParentHandle: tpm2.AuthHandle{Handle: p.ObjectHandle, Name: p.Name, Auth: tpm2.PasswordAuth(nil)},
		InPrivate:    *priv,
		InPublic:     *pub,
	}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm2.FlushContext{FlushHandle: l.ObjectHandle}.Execute(tpm)
	u, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{Handle: l.ObjectHandle, Name: l.Name, Auth: tpm2.PasswordAuth(pin)}}.Execute(tpm)
	if err != nil {
		t.Fatal(err)
	}
	return u.OutData.Buffer
}

func TestBlobsCompatibleWithGoTPMSWTPM(t *testing.T) {
	tpm := startSWTPM(t, t.TempDir())
	secret := []byte("binding key")
	for _, pin := range [][]byte{nil, []byte("1357")} {
		old := goTPMSeal(t, tpm, secret, pin)
		if got, err := Unseal(tpm, old, pin); err != nil || !bytes.Equal(got, secret) {
			t.Errorf("PIN %q: a go-tpm blob unseals to %q, %v", pin, got, err)
		}
		if HasPIN(old) != (pin != nil) {
			t.Errorf("PIN %q: HasPIN of a go-tpm blob is %v", pin, HasPIN(old))
		}
		blob, err := Seal(tpm, secret, pin)
		if err != nil {
			t.Fatal(err)
		}
		if got := goTPMUnseal(t, tpm, blob, pin); !bytes.Equal(got, secret) {
			t.Errorf("PIN %q: go-tpm unseals this package's blob to %q", pin, got)
		}
		// The public parts are the same object template: the blobs
		// differ only in the TPM's encrypted private part.
		// (The unique field, the last 32 bytes, is the TPM's digest of
		// each object's random seed.)
		pOld, _, _ := parse(old)
		pNew, _, _ := parse(blob)
		if len(pOld) != len(pNew) || len(old) != len(blob) || !bytes.Equal(pOld[:len(pOld)-32], pNew[:len(pNew)-32]) {
			t.Errorf("PIN %q: public parts differ:\n%x\n%x", pin, pOld, pNew)
		}
	}
}
