package dockercred

import (
	"errors"

	"github.com/kr-keyring/kr/internal/credman"
)

// WinCredVia is the WinCredStore layout over a Credential Manager reached
// through api: kr in WSL reaches Windows' through kr.exe, so that docker
// in WSL and on Windows share their logins.
func WinCredVia(api credman.API) WinCredStore { return WinCredStore{api: viaAPI{api}} }

// systemWinCred is this system's Credential Manager (none but on Windows).
func systemWinCred() winCredAPI { return viaAPI{credman.System()} }

type viaAPI struct{ api credman.API }

func fromCred(c credman.Cred) winCred {
	return winCred{Target: c.Target, UserName: c.UserName, Blob: c.Blob, Label: string(c.Attrs["label"])}
}

func notFound(err error) error {
	if errors.Is(err, credman.ErrNotFound) {
		return errNoCred
	}
	return err
}

func (v viaAPI) list() ([]winCred, error) {
	creds, err := v.api.List("")
	if err != nil {
		return nil, err
	}
	out := make([]winCred, 0, len(creds))
	for _, c := range creds {
		out = append(out, fromCred(c))
	}
	return out, nil
}

func (v viaAPI) read(target string) (winCred, error) {
	c, err := v.api.Read(target)
	if err != nil {
		return winCred{}, notFound(err)
	}
	return fromCred(c), nil
}

func (v viaAPI) write(c winCred) error {
	return v.api.Write(credman.Cred{Target: c.Target, UserName: c.UserName, Blob: c.Blob,
		Attrs: map[string][]byte{"label": []byte(c.Label)}})
}

func (v viaAPI) remove(target string) error { return notFound(v.api.Remove(target)) }
