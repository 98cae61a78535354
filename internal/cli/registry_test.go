package cli

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/dpapi"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/backends/keychain"
	"github.com/kr-keyring/kr/backends/secretservice"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/wslbridge"
)

// storeTypes is a value of each registered store's type, as its entry's
// Open returns it: the helper layouts are checked over it. A new store
// adds its type here.
var storeTypes = map[string]backends.Backend{
	backends.SecretService: &secretservice.Backend{},
	backends.Keychain:      &keychain.Backend{},
	backends.DPAPI:         &dpapi.Backend{},
	backends.WSL:           &wslbridge.Backend{},
	backends.File:          &filevault.Vault{},
}

// TestStoreRegistry checks every system's table, whatever system runs it:
// an entry lacking a part, or a table kr cannot choose from, fails here.
func TestStoreRegistry(t *testing.T) {
	for _, goos := range tableOrder {
		table := storeTable(goos)
		var names []string
		vaults := 0
		for i, e := range table {
			where := goos + " " + e.Name
			if e.Name == "" || e.Label == "" {
				t.Errorf("%s: entry %d has no name or label", goos, i)
			}
			if slices.Contains(names, e.Name) {
				t.Errorf("%s: listed twice", where)
			}
			names = append(names, e.Name)
			switch e.Role {
			case osStore:
			case vaultStore:
				vaults++
				if i != len(table)-1 {
					t.Errorf("%s: the file vault must come last: auto tries the OS stores first", where)
				}
			default:
				t.Errorf("%s: no role (osStore or vaultStore): the agent's cache needs it", where)
			}
			for part, missing := range map[string]bool{
				"Open":         e.Open == nil,
				"OpenForNames": e.OpenForNames == nil,
				"Doctor":       e.Doctor == nil,
				"Git":          e.Git == nil,
				"Docker":       e.Docker == nil,
			} {
				if missing {
					t.Errorf("%s: no %s", where, part)
				}
			}
			if e.Mount != nil && (e.Mount.Open == nil || e.Mount.OpenForNames == nil) {
				t.Errorf("%s: a mountable store needs Mount.Open and Mount.OpenForNames", where)
			}
			if !isKnownStore(e.Name) {
				t.Errorf("%s: --backend does not accept it", where)
			}
			if !strings.Contains(storeAlternatives(knownStores()), e.Name) {
				t.Errorf("%s: missing from the help text", where)
			}
			b, ok := storeTypes[e.Name]
			if !ok {
				t.Errorf("%s: no store type in storeTypes", where)
				continue
			}
			if b.Name() != e.Name {
				t.Errorf("%s: the store calls itself %q", where, b.Name())
			}
			if e.Git == nil || e.Docker == nil {
				continue
			}
			if s, err := e.Git(backends.Checked(b)); err != nil || s == nil {
				t.Errorf("%s: no git layout over its own store: %v", where, err)
			}
			if s, err := e.Docker(backends.Checked(b)); err != nil || s == nil {
				t.Errorf("%s: no docker layout over its own store: %v", where, err)
			}
		}
		if vaults != 1 {
			t.Errorf("%s: %d file vaults, want 1 (auto's fallback)", goos, vaults)
		}
	}
	// The root command's help is a constant (it names AGE-SECRET-KEY-, which
	// a string built at run time would put in the agent's heap): it must
	// name the stores --backend accepts.
	root := newRootCmd(&App{IO: &IOStreams{}}, nil)
	if want := "KR_BACKEND              store for one command: " + storeChoices(knownStores()) + "\n"; !strings.Contains(root.Long, want) {
		t.Errorf("kr --help does not list the stores as %q", want)
	}
	if usage := root.PersistentFlags().Lookup("backend").Usage; !strings.Contains(usage, storeAlternatives(knownStores())) {
		t.Errorf("--backend's help %q does not list every store", usage)
	}
	// Every mount kind stores.json accepts opens through the registry.
	if _, ok := mountEntry(config.MountFile); !ok {
		t.Errorf("mount kind %q has no entry with Mount", config.MountFile)
	}
}

// helperColumns are the columns of storeEntry that give a credential-helper
// protocol's layout: every func from the opened store to a value and an
// error. A protocol added as such a column is checked below without being
// named here.
func helperColumns(t *testing.T) []reflect.StructField {
	t.Helper()
	backend, errType := reflect.TypeFor[backends.Backend](), reflect.TypeFor[error]()
	var cols []reflect.StructField
	for _, f := range reflect.VisibleFields(reflect.TypeFor[storeEntry]()) {
		ft := f.Type
		if ft.Kind() == reflect.Func && ft.NumIn() == 1 && ft.In(0) == backend && ft.NumOut() == 2 && ft.Out(1) == errType {
			cols = append(cols, f)
		}
	}
	return cols
}

// TestStoreRegistryHelperLayouts: every registered store, on every system,
// has every helper protocol's layout, and it opens over the store's own
// type; a store added without one, or a protocol added without a layout in
// one store, fails here rather than as a helper answering nothing.
func TestStoreRegistryHelperLayouts(t *testing.T) {
	cols := helperColumns(t)
	for _, want := range []string{"Git", "Docker"} {
		if !slices.ContainsFunc(cols, func(f reflect.StructField) bool { return f.Name == want }) {
			t.Fatalf("storeEntry's %s column is not seen as a helper layout: the check below would pass for nothing", want)
		}
	}
	for _, goos := range tableOrder {
		for _, e := range storeTable(goos) {
			b, ok := storeTypes[e.Name]
			if !ok {
				t.Errorf("%s %s: no store type in storeTypes", goos, e.Name)
				continue
			}
			for _, col := range cols {
				where := fmt.Sprintf("%s %s: %s", goos, e.Name, col.Name)
				layout := reflect.ValueOf(e).FieldByIndex(col.Index)
				if layout.IsNil() {
					t.Errorf("%s: no layout, so that protocol's helper has nothing to serve from this store", where)
					continue
				}
				out := layout.Call([]reflect.Value{reflect.ValueOf(backends.Checked(b))})
				if err, _ := out[1].Interface().(error); err != nil {
					t.Errorf("%s: the layout does not open over the store's own type: %v", where, err)
				} else if out[0].IsZero() {
					t.Errorf("%s: the layout is nil", where)
				}
			}
		}
	}
}
