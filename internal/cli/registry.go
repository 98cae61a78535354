package cli

// This file is the registry of the stores kr can use: each store is one
// storeEntry, defined in a file of its own (stores_secretservice.go,
// stores_keychain.go, stores_dpapi.go, stores_wsl.go, stores_file.go), and listed for
// each operating system it exists on in storeTable. Every part of kr that
// differs by store (selection, completion, kr doctor, the agent's cache,
// the credential helpers' layouts, mounts, help text) reads the entry;
// TestStoreRegistry fails when an entry lacks a part.

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
)

// storeRole is what kind of store an entry is.
type storeRole int

const (
	roleUnset storeRole = iota
	// osStore is an OS credential store: auto chooses it first, and
	// `kr unlock --cache` caches its items' values in the agent one by
	// one.
	osStore
	// vaultStore is the file vault: chosen by auto only where no OS store
	// is there, unlocked in the agent as a whole, never cached by value.
	vaultStore
)

// storeEntry is everything kr knows about one store.
type storeEntry struct {
	Name  string // as --backend and stores.json spell it
	Label string // how people call it: "the Secret Service"
	Role  storeRole
	// Open opens the store to read and write. It returns an error
	// wrapping backends.ErrUnavailable, promptly, only when the store is
	// not there at all.
	Open func(ctx context.Context, a *App) (backends.Backend, error)
	// OpenForNames opens it for shell completion: List only, which must
	// never prompt, unlock, decrypt or dial the agent. A store that cannot
	// list without that lists nothing (namesOnly).
	OpenForNames func(ctx context.Context, a *App) (backends.Backend, error)
	// Doctor reports the store in `kr doctor`; opened is the store this
	// run uses (nil when none opened), to reuse its connection.
	Doctor func(ctx context.Context, a *App, opened backends.Backend) []check
	// Git and Docker give the layout in which git's and docker's own
	// helpers for this store keep credentials, over b, a store Open
	// returned (Checked).
	Git    func(b backends.Backend) (gitcred.Store, error)
	Docker func(b backends.Backend) (dockercred.Store, error)
	// Mount, when set, opens a mount of this kind (config.MountTarget's
	// Kind is the entry's Name); nil: the store cannot be mounted.
	Mount *mountOpeners
}

// mountOpeners open a mounted store as Open and OpenForNames do.
type mountOpeners struct {
	Open         func(a *App, t config.MountTarget) (backends.Backend, error)
	OpenForNames func(a *App, t config.MountTarget) (backends.Backend, error)
}

// storeTable lists goos's stores, the OS store before the file vault: auto
// opens the OS stores in this order and the vault only when every one is
// absent. A system not listed has linux's (the BSDs have the Secret
// Service too). Adding a store is its entry's file and a line here. It is
// a function, not a map, so that no kr start pays for building it.
func storeTable(goos string) []storeEntry {
	switch goos {
	case "darwin":
		return []storeEntry{keychainStore, fileStore}
	case "windows":
		return []storeEntry{dpapiStore, fileStore}
	}
	// Inside WSL, Windows' Credential Manager when no Secret Service
	// answers; elsewhere wslStore is not there (ErrNotThisSystem).
	return []storeEntry{secretServiceStore, wslStore, fileStore}
}

// tableOrder is the order in which the tables are read for help text.
var tableOrder = [...]string{"linux", "darwin", "windows"}

// registry returns the stores of goos.
func registry(goos string) []storeEntry { return storeTable(goos) }

// thisOS returns the stores of the system kr runs on.
func thisOS() []storeEntry { return registry(runtime.GOOS) }

// lookupStore returns this system's store called name.
func lookupStore(name string) (storeEntry, bool) {
	for _, e := range thisOS() {
		if e.Name == name {
			return e, true
		}
	}
	return storeEntry{}, false
}

// knownStores lists every value --backend accepts, on any system: auto,
// the OS stores, then the file vault.
func knownStores() []string {
	out := []string{backends.Auto}
	for _, role := range []storeRole{osStore, vaultStore} {
		for _, goos := range tableOrder {
			for _, e := range storeTable(goos) {
				if e.Role == role && !slices.Contains(out, e.Name) {
					out = append(out, e.Name)
				}
			}
		}
	}
	return out
}

// isKnownStore reports whether --backend accepts name.
func isKnownStore(name string) bool { return slices.Contains(knownStores(), name) }

// storeChoices is knownStores for an error: "auto, secretservice, ...".
func storeChoices(names []string) string { return strings.Join(names, ", ") }

// storeAlternatives is knownStores for help text: "auto, ... or file".
func storeAlternatives(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// candidate is e as backends.Select takes it, opened by open.
func (a *App) candidate(e storeEntry, open func(context.Context, *App) (backends.Backend, error)) backends.Candidate {
	return backends.Candidate{Name: e.Name, Label: e.Label, Open: func(ctx context.Context) (backends.Backend, error) {
		return open(ctx, a)
	}}
}

// isOSStore reports whether name is an OS store of this system: what
// `kr unlock --cache` takes and the agent caches by value.
func isOSStore(name string) bool {
	e, ok := lookupStore(name)
	return ok && e.Role == osStore
}

// entryOf returns the entry of the store b is, by its name.
func entryOf(b backends.Backend) (storeEntry, error) {
	e, ok := lookupStore(b.Name())
	if !ok {
		return storeEntry{}, fmt.Errorf("store %s is not one of this system's", b.Name())
	}
	return e, nil
}

// gitStore is the layout git's own helper uses in b's store.
func gitStore(b backends.Backend) (gitcred.Store, error) {
	e, err := entryOf(b)
	if err != nil {
		return nil, err
	}
	return e.Git(b)
}

// dockerLayout is the layout docker's own helper uses in b's store.
func dockerLayout(b backends.Backend) (dockercred.Store, error) {
	e, err := entryOf(b)
	if err != nil {
		return nil, err
	}
	return e.Docker(b)
}

// mountEntry returns the openers of a mount of kind.
func mountEntry(kind string) (*mountOpeners, bool) {
	e, ok := lookupStore(kind)
	if !ok || e.Mount == nil {
		return nil, false
	}
	return e.Mount, true
}

// storeOf returns the store of kind T inside b, for an entry's layouts:
// b is always a store its entry opened.
func storeOf[T any](b backends.Backend) (T, error) {
	s, ok := backends.As[T](b)
	if !ok {
		return s, fmt.Errorf("store %s is not a %T", b.Name(), s)
	}
	return s, nil
}

// storeLabel is how people call the store name: "the file vault".
func storeLabel(name string) string {
	if e, ok := lookupStore(name); ok {
		return e.Label
	}
	return name
}
