package gitcred

import (
	"reflect"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// named is a store that answers to another backend's name.
type named struct {
	backends.Backend
	name string
}

func (n named) Name() string { return n.name }

// TestForPicksOSLayout: on Credential Manager and the Keychain the git
// helper uses the layouts of git's own helpers there, not kr's git/ names.
func TestForPicksOSLayout(t *testing.T) {
	for name, want := range map[string]Store{
		backends.DPAPI:    WinCred{},
		backends.Keychain: Keychain{},
		backends.File:     Named{},
	} {
		got := For(named{memory.New(), name})
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("For(%s) = %T, want %T", name, got, want)
		}
	}
}
