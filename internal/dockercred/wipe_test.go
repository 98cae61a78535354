package dockercred

import (
	"bytes"
	"context"
	"testing"
)

// handedOut records the values a fake store gave the layout, and the
// values the layout gave it, to check that the layout wiped them.
type handedOut struct{ bufs [][]byte }

func (h *handedOut) wiped(t *testing.T, what string) {
	t.Helper()
	if len(h.bufs) == 0 {
		t.Fatalf("%s: nothing crossed the store's boundary", what)
	}
	for _, b := range h.bufs {
		if len(b) == 0 || !bytes.Equal(b, make([]byte, len(b))) {
			t.Errorf("%s: a secret was left in memory: %d bytes not wiped", what, len(b))
		}
	}
}

type recordingWinCred struct {
	fakeWinCred
	h *handedOut
}

func (r recordingWinCred) read(t string) (winCred, error) {
	c, err := r.fakeWinCred.read(t)
	r.h.bufs = append(r.h.bufs, c.Blob)
	return c, err
}
func (r recordingWinCred) write(c winCred) error {
	r.h.bufs = append(r.h.bufs, c.Blob)
	return r.fakeWinCred.write(c)
}

type recordingKeychain struct {
	fakeKeychain
	h *handedOut
}

func (r recordingKeychain) find(q keychainItem) (keychainItem, error) {
	it, err := r.fakeKeychain.find(q)
	r.h.bufs = append(r.h.bufs, it.Data)
	return it, err
}
func (r recordingKeychain) add(it keychainItem) error {
	r.h.bufs = append(r.h.bufs, it.Data)
	return r.fakeKeychain.add(it)
}

// TestLayoutsWipeSecrets: the secret a layout writes to Credential Manager
// or the Keychain, and the one it reads back, are []byte it wipes once the
// store has it or the answer is built.
func TestLayoutsWipeSecrets(t *testing.T) {
	ctx := context.Background()
	c := Credentials{ServerURL: "https://registry.example", Username: "alice", Secret: "pw"}
	for name, s := range map[string]func(*handedOut) Store{
		"wincred":  func(h *handedOut) Store { return WinCredStore{api: recordingWinCred{fakeWinCred{}, h}} },
		"keychain": func(h *handedOut) Store { return KeychainStore{api: recordingKeychain{fakeKeychain{}, h}} },
	} {
		var write, read handedOut
		store := s(&write)
		if err := store.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
		write.wiped(t, name+" add")
		switch st := store.(type) {
		case WinCredStore:
			st.api = recordingWinCred{st.api.(recordingWinCred).fakeWinCred, &read}
			store = st
		case KeychainStore:
			st.api = recordingKeychain{st.api.(recordingKeychain).fakeKeychain, &read}
			store = st
		}
		got, err := store.Get(ctx, c.ServerURL)
		if err != nil || got.Secret != "pw" {
			t.Fatalf("%s get: %+v, %v", name, got, err)
		}
		read.wiped(t, name+" get")
	}
}
