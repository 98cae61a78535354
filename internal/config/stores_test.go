package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStores(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kr")
	s, err := LoadStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Get("kr", "linux"); got != "" {
		t.Fatalf("empty record gives %q", got)
	}
	err = UpdateStores(dir, func(s *Stores) error {
		s.Set("kr", "linux", "secretservice")
		s.Set("kr", "darwin", "keychain")
		s.Set("other", "linux", "file")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("config dir: %v %v", fi.Mode(), err)
	}
	s, err = LoadStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Get("kr", "linux") != "secretservice" || s.Get("kr", "darwin") != "keychain" || s.Get("other", "linux") != "file" {
		t.Fatalf("round trip lost a record: %+v", s.rec)
	}
	s.Set("kr", "linux", "")
	s.Set("other", "linux", "")
	if s.Get("kr", "darwin") != "keychain" || len(s.rec.Stores) != 1 {
		t.Fatalf("forgetting one OS's record: %+v", s.rec)
	}
	for in, want := range map[string]string{
		`{"version":1,"stores":{"kr":{"linux":"file"},"kr":{"linux":"secretservice"}}}`: "appears twice",
		`{"version":1,"Stores":{}}`:  `spelled "stores"`,
		`{"version":3,"stores":{}}`:  "format version 3",
		`{"version":1,"stores":[]}`:  "damaged",
		`{"version":1,"extra":true}`: "unknown field",
	} {
		if err := os.WriteFile(filepath.Join(dir, StoresFile), []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadStores(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", in, err, want)
		}
	}
}

// TestStoresCaseDistinctServices: service names are case-sensitive keys, so
// "kr" and "KR" are two records that read back, not a damaged file.
func TestStoresCaseDistinctServices(t *testing.T) {
	dir := t.TempDir()
	err := UpdateStores(dir, func(s *Stores) error {
		s.Set("kr", "linux", "file")
		s.Set("KR", "linux", "secretservice")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadStores(dir)
	if err != nil {
		t.Fatalf("a record kr wrote does not read back: %v", err)
	}
	if s.Get("kr", "linux") != "file" || s.Get("KR", "linux") != "secretservice" {
		t.Fatalf("records: %+v", s.rec)
	}
}

// TestStoresMounts: mounts and notices round trip, and a record holding
// them is written as version 2, which a kr that knows no mounts refuses
// instead of sending mounted names to the OS store.
func TestStoresMounts(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "team")
	err := UpdateStores(dir, func(s *Stores) error {
		if err := s.Mount("kr", "team", MountTarget{Kind: MountFile, Dir: vault}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct {
			prefix string
			t      MountTarget
		}{
			{"", MountTarget{Kind: MountFile, Dir: vault}},
			{"team/", MountTarget{Kind: MountFile, Dir: vault}},
			{"x", MountTarget{Kind: MountFile, Dir: "relative"}},
			{"x", MountTarget{Kind: "ftp", Dir: vault}},
		} {
			if err := s.Mount("kr", bad.prefix, bad.t); err == nil {
				t.Errorf("Mount(%q, %+v) was accepted", bad.prefix, bad.t)
			}
		}
		if !s.Tell("a") || s.Tell("a") {
			t.Fatal("Tell must say yes once")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, StoresFile))
	if !strings.Contains(string(b), `"version": 2`) {
		t.Fatalf("a record with mounts is not version 2:\n%s", b)
	}
	s, err := LoadStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Mounts("kr")["team"]; got.Dir != vault || got.Kind != MountFile {
		t.Fatalf("mount read back as %+v", got)
	}
	if s.Tell("a") {
		t.Fatal("a notice told before is told again after a reload")
	}
	err = UpdateStores(dir, func(s *Stores) error {
		if !s.Unmount("kr", "team") || s.Unmount("kr", "team") {
			t.Fatal("Unmount must find the mount once")
		}
		s.rec.Told = nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, StoresFile))
	if !strings.Contains(string(b), `"version": 1`) {
		t.Fatalf("a record without mounts is not version 1 again:\n%s", b)
	}
	os.WriteFile(filepath.Join(dir, StoresFile), []byte(`{"version":2,"stores":{},"mounts":{"kr":{"x":{"kind":"file","dir":"rel"}}}}`), 0o600)
	if _, err := LoadStores(dir); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Fatalf("a relative mount directory: %v", err)
	}
}
