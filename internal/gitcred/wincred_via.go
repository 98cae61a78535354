package gitcred

import (
	"errors"

	"github.com/kr-keyring/kr/internal/credman"
)

// expiryAttr is git-credential-wincred's attribute for password_expiry_utc.
const expiryAttr = "git_password_expiry_utc"

// WinCredVia is the WinCred layout over a Credential Manager reached
// through api: kr in WSL reaches Windows' through kr.exe, so that git in
// WSL and Git for Windows share their logins.
func WinCredVia(api credman.API) WinCred { return WinCred{api: viaAPI{api}} }

// systemWinCred is this system's Credential Manager (none but on Windows).
func systemWinCred() winCredAPI { return viaAPI{credman.System()} }

type viaAPI struct{ api credman.API }

func fromCred(c credman.Cred) winCred {
	w := winCred{Target: c.Target, UserName: c.UserName, Comment: c.Comment, Blob: c.Blob, Modified: c.Modified}
	if v, ok := c.Attrs[expiryAttr]; ok {
		if d, err := fromUTF16(v); err == nil {
			w.Expiry = string(d)
		}
	}
	return w
}

func notFound(err error) error {
	if errors.Is(err, credman.ErrNotFound) {
		return errNoCred
	}
	return err
}

func (v viaAPI) list(prefix string) ([]winCred, error) {
	creds, err := v.api.List(prefix)
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

func (v viaAPI) write(w winCred) error {
	c := credman.Cred{Target: w.Target, UserName: w.UserName, Comment: w.Comment, Blob: w.Blob}
	if w.Expiry != "" {
		e, _ := toUTF16([]byte(w.Expiry)) // digits
		c.Attrs = map[string][]byte{expiryAttr: e}
	}
	return v.api.Write(c)
}

func (v viaAPI) remove(target string) error { return notFound(v.api.Remove(target)) }
