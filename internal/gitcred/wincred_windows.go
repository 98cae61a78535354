//go:build windows

package gitcred

import (
	"errors"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

func systemWinCred() winCredAPI { return sysWinCred{} }

type sysWinCred struct{}

func fromSys(c *wincred.Credential) winCred {
	w := winCred{Target: c.TargetName, UserName: c.UserName, Comment: c.Comment, Blob: c.CredentialBlob, Modified: c.LastWritten}
	for _, a := range c.Attributes {
		if a.Keyword == expiryAttr {
			if v, err := fromUTF16(a.Value); err == nil {
				w.Expiry = string(v)
			}
		}
	}
	return w
}

func (sysWinCred) list(prefix string) ([]winCred, error) {
	creds, err := wincred.FilteredList(prefix + "*")
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]winCred, 0, len(creds))
	for _, c := range creds {
		clear(c.CredentialBlob)
		w := fromSys(c)
		w.Blob = nil
		out = append(out, w)
	}
	return out, nil
}

func (sysWinCred) read(target string) (winCred, error) {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return winCred{}, errNoCred
	}
	if err != nil {
		return winCred{}, err
	}
	return fromSys(&c.Credential), nil
}

func (sysWinCred) write(w winCred) error {
	g := wincred.NewGenericCredential(w.Target)
	g.UserName = w.UserName
	g.CredentialBlob = w.Blob
	g.Persist = wincred.PersistLocalMachine
	if w.Expiry != "" {
		v, _ := toUTF16([]byte(w.Expiry)) // digits
		g.Attributes = []wincred.CredentialAttribute{{Keyword: expiryAttr, Value: v}}
	}
	return g.Write()
}

func (sysWinCred) remove(target string) error {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return errNoCred
	}
	if err != nil {
		return err
	}
	clear(c.CredentialBlob)
	return c.Delete()
}
