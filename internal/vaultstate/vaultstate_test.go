package vaultstate

import (
	"os"
	"path/filepath"
	"testing"
)

// A state is per vault directory, raised by Update, and read back by the
// next Load; another directory's state is apart.
func TestStateRoundTrip(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	st, err := s.Load(a)
	if err != nil || st.Epoch != 0 || len(st.Counters) != 0 {
		t.Fatalf("empty state: %+v, %v", st, err)
	}
	if err := s.Update(a, func(st *State) error {
		st.VaultID, st.Epoch, st.Counters["db/prod"] = "id", 3, 7
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err = s.Load(a)
	if err != nil || st.VaultID != "id" || st.Epoch != 3 || st.Counters["db/prod"] != 7 {
		t.Fatalf("after Update: %+v, %v", st, err)
	}
	if st, err := s.Load(b); err != nil || st.Epoch != 0 {
		t.Fatalf("another vault's state: %+v, %v", st, err)
	}
	// A file recorded for another directory (copied by hand) is refused.
	pa, _, _ := s.path(a)
	pb, _, _ := s.path(b)
	data, _ := os.ReadFile(pa)
	if err := os.WriteFile(pb, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(b); err == nil {
		t.Fatal("a state recorded for another directory was read")
	}
}
