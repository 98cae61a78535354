//go:build windows

package dpapi

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/danieljoos/wincred"
	"golang.org/x/sys/windows"
)

func system(dir string) (credStore, sealer, string, error) {
	if dir == "" {
		base := os.Getenv("LOCALAPPDATA")
		if base == "" {
			var err error
			if base, err = os.UserCacheDir(); err != nil {
				return nil, nil, "", err
			}
		}
		dir = filepath.Join(base, "kr", "dpapi")
	}
	return wincredStore{}, dpapiSealer{}, dir, nil
}

type wincredStore struct{}

func (wincredStore) read(target string) ([]byte, error) {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return nil, errNoCred
	}
	if err != nil {
		return nil, err
	}
	return c.CredentialBlob, nil
}

func (wincredStore) write(target, user string, blob []byte) error {
	if len(blob) > MaxBlob {
		return errors.New("blob over the Credential Manager limit") // never: spill first
	}
	c := wincred.NewGenericCredential(target)
	c.UserName = user
	c.Comment = writerComment
	c.CredentialBlob = blob
	c.Persist = wincred.PersistLocalMachine
	return c.Write()
}

func (wincredStore) remove(target string) error {
	c, err := wincred.GetGenericCredential(target)
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return errNoCred
	}
	if err != nil {
		return err
	}
	return c.Delete()
}

func (s wincredStore) list(prefix string) ([]string, error) {
	creds, err := s.describe(prefix)
	if err != nil || len(creds) == 0 {
		return nil, err
	}
	out := make([]string, len(creds))
	for i, c := range creds {
		out[i] = c.target
	}
	return out, nil
}

func (wincredStore) describe(prefix string) ([]credInfo, error) {
	creds, err := wincred.FilteredList(prefix + "*")
	if errors.Is(err, windows.ERROR_NOT_FOUND) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []credInfo
	for _, c := range creds {
		if strings.HasPrefix(c.TargetName, prefix) {
			out = append(out, credInfo{target: c.TargetName, comment: c.Comment, modified: c.LastWritten})
		}
	}
	return out, nil
}

// dpapiSealer seals for the current user, with no UI.
type dpapiSealer struct{}

func blob(b []byte) *windows.DataBlob {
	if len(b) == 0 {
		return &windows.DataBlob{}
	}
	return &windows.DataBlob{Size: uint32(len(b)), Data: &b[0]}
}

func take(out *windows.DataBlob) []byte {
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
}

var entropy = []byte("kr dpapi spill v1")

func (dpapiSealer) seal(plain []byte) ([]byte, error) {
	var out windows.DataBlob
	name, _ := windows.UTF16PtrFromString("kr")
	if err := windows.CryptProtectData(blob(plain), name, blob(entropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	return take(&out), nil
}

func (dpapiSealer) unseal(sealed []byte) ([]byte, error) {
	var out windows.DataBlob
	if err := windows.CryptUnprotectData(blob(sealed), nil, blob(entropy), 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		return nil, err
	}
	if out.Size == 0 {
		return []byte{}, nil
	}
	return take(&out), nil
}
