package cli

// The TPM binding: the binding key sealed to this machine's TPM 2.0
// (internal/tpmseal), with an optional PIN as its auth value. KR_TPM names
// another TPM than the system's (a device path, or unix:PATH for swtpm).

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/tpmseal"
	"github.com/kr-keyring/kr/internal/wait"
)

type tpmKeeper struct {
	app *App
	// pin asks for a PIN at bind time; see bindTPMPIN.
	pin bool
}

func (a *App) tpmKeeper() (keeper, error) { return &tpmKeeper{app: a}, nil }

func (k *tpmKeeper) what() string {
	if dev := k.app.Getenv("KR_TPM"); dev != "" {
		return "the TPM at " + dev
	}
	return "the TPM"
}

func (k *tpmKeeper) keep(ctx context.Context, h filevault.IdentityHome, key []byte) ([]byte, error) {
	var pin []byte
	if k.pin {
		a := k.app
		p := secretPrompt{about: fmt.Sprintf("%s asks for a PIN for the TPM binding of %s (the TPM locks out guesses)", a.asker(), h.Dir), label: "New TPM PIN: "}
		first, err := a.askSecret(ctx, p)
		if err != nil {
			return nil, err
		}
		defer clear(first)
		p.label, p.about = "The same PIN again: ", ""
		again, err := a.askSecret(ctx, p)
		if err != nil {
			return nil, err
		}
		defer clear(again)
		if !bytes.Equal(first, again) {
			return nil, errors.New("the PINs differ")
		}
		if len(first) == 0 {
			return nil, errors.New("empty PIN refused (bind without --pin for none)")
		}
		pin = first
	}
	// The command's --timeout holds for the TPM, not for the PIN typed.
	wctx, end := wait.Bound(ctx, "the TPM did not answer")
	tpm, err := tpmseal.Open(wctx, k.app.Getenv("KR_TPM"))
	if err != nil {
		return nil, withHint(fmt.Errorf("open %s: %w", k.what(), end(err)), "KR_TPM names the TPM device, or unix:PATH for a simulator's socket")
	}
	defer tpm.Close()
	blob, err := tpmseal.Seal(tpm, key, pin)
	return blob, end(err)
}

func (k *tpmKeeper) give(ctx context.Context, h filevault.IdentityHome, stored []byte) ([]byte, error) {
	if stored == nil {
		return nil, errors.New("bind-tpm.key is missing: run 'kr identity bind tpm' again")
	}
	var pin []byte
	if tpmseal.HasPIN(stored) {
		a := k.app
		p, err := a.askSecret(ctx, secretPrompt{about: fmt.Sprintf("%s asks to open %s with the TPM", a.asker(), h.Dir), label: "TPM PIN: "})
		if err != nil {
			return nil, err
		}
		defer clear(p)
		pin = p
	}
	wctx, end := wait.Bound(ctx, "the TPM did not answer")
	tpm, err := tpmseal.Open(wctx, k.app.Getenv("KR_TPM"))
	if err != nil {
		return nil, fmt.Errorf("open: %w", end(err))
	}
	defer tpm.Close()
	key, err := tpmseal.Unseal(tpm, stored, pin)
	err = end(err)
	if errors.Is(err, tpmseal.ErrNotThisTPM) {
		return nil, withHint(err, "the passphrase or the recovery code opens the identity; 'kr identity bind tpm' binds it to this TPM again")
	}
	return key, err
}

// drop has nothing to do: the sealed object lives in bind-tpm.key only.
func (k *tpmKeeper) drop(context.Context, filevault.IdentityHome) error { return nil }
