//go:build windows

package credman

import (
	"errors"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

// System returns this user's Credential Manager.
func System() API { return system{} }

type system struct{}

func fromSys(c *wincred.Credential, withBlob bool) Cred {
	out := Cred{Target: c.TargetName, UserName: c.UserName, Comment: c.Comment, Modified: c.LastWritten}
	if withBlob {
		out.Blob = c.CredentialBlob
	} else {
		clear(c.CredentialBlob)
	}
	for _, a := range c.Attributes {
		if out.Attrs == nil {
			out.Attrs = map[string][]byte{}
		}
		out.Attrs[a.Keyword] = a.Value
	}
	return out
}

func (system) List(prefix string) ([]Cred, error) {
	var creds []*wincred.Credential
	var err error
	if prefix == "" {
		creds, err = wincred.List()
	} else {
		creds, err = wincred.FilteredList(prefix + "*")
	}
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Cred, 0, len(creds))
	for _, c := range creds {
		out = append(out, fromSys(c, false))
	}
	return out, nil
}

func (system) Read(target string) (Cred, error) {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return Cred{}, ErrNotFound
	}
	if err != nil {
		return Cred{}, err
	}
	return fromSys(&c.Credential, true), nil
}

func (system) Write(c Cred) error {
	g := wincred.NewGenericCredential(c.Target)
	g.UserName = c.UserName
	g.Comment = c.Comment
	g.CredentialBlob = c.Blob
	g.Persist = wincred.PersistLocalMachine
	for k, v := range c.Attrs {
		g.Attributes = append(g.Attributes, wincred.CredentialAttribute{Keyword: k, Value: v})
	}
	return g.Write()
}

func (system) Remove(target string) error {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	clear(c.CredentialBlob)
	return c.Delete()
}
