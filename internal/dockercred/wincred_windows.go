//go:build windows

package dockercred

import (
	"errors"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

func systemWinCred() winCredAPI { return sysWinCred{} }

type sysWinCred struct{}

func label(attrs []wincred.CredentialAttribute) string {
	for _, a := range attrs {
		if a.Keyword == "label" {
			return string(a.Value)
		}
	}
	return ""
}

func (sysWinCred) list() ([]winCred, error) {
	creds, err := wincred.List()
	if err != nil {
		return nil, err
	}
	// wincred.List returns every credential of the user with its secret:
	// docker's targets share no prefix to filter on. Only names are kept.
	out := make([]winCred, 0, len(creds))
	for _, c := range creds {
		clear(c.CredentialBlob)
		out = append(out, winCred{Target: c.TargetName, UserName: c.UserName, Label: label(c.Attributes)})
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
	return winCred{Target: c.TargetName, UserName: c.UserName, Blob: c.CredentialBlob, Label: label(c.Attributes)}, nil
}

func (sysWinCred) write(c winCred) error {
	g := wincred.NewGenericCredential(c.Target)
	g.UserName = c.UserName
	g.CredentialBlob = c.Blob
	g.Persist = wincred.PersistLocalMachine
	g.Attributes = []wincred.CredentialAttribute{{Keyword: "label", Value: []byte(c.Label)}}
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
