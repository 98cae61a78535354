//go:build windows

package credkit

import (
	"errors"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

func systemCredentialManager() CredentialManager { return sysCredMan{} }

type sysCredMan struct{}

func fromSys(c *wincred.Credential) GenericCredential {
	g := GenericCredential{Target: c.TargetName, UserName: c.UserName, Comment: c.Comment, Blob: c.CredentialBlob, Modified: c.LastWritten}
	for _, a := range c.Attributes {
		g.Attributes = append(g.Attributes, Attribute{Keyword: a.Keyword, Value: a.Value})
	}
	return g
}

func (sysCredMan) List(prefix string) ([]GenericCredential, error) {
	var creds []*wincred.Credential
	var err error
	if prefix == "" {
		// Every credential of the user, each with its secret: only the
		// names are kept.
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
	out := make([]GenericCredential, 0, len(creds))
	for _, c := range creds {
		clear(c.CredentialBlob)
		g := fromSys(c)
		g.Blob = nil
		out = append(out, g)
	}
	return out, nil
}

func (sysCredMan) Read(target string) (GenericCredential, error) {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return GenericCredential{}, ErrNoItem
	}
	if err != nil {
		return GenericCredential{}, err
	}
	return fromSys(&c.Credential), nil
}

func (sysCredMan) Write(c GenericCredential) error {
	g := wincred.NewGenericCredential(c.Target)
	g.UserName = c.UserName
	g.Comment = c.Comment
	g.CredentialBlob = c.Blob
	g.Persist = wincred.PersistLocalMachine
	for _, a := range c.Attributes {
		g.Attributes = append(g.Attributes, wincred.CredentialAttribute{Keyword: a.Keyword, Value: a.Value})
	}
	return g.Write()
}

func (sysCredMan) Delete(target string) error {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) || (err == nil && c == nil) {
		return ErrNoItem
	}
	if err != nil {
		return err
	}
	clear(c.CredentialBlob)
	return c.Delete()
}
