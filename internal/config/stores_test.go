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
		`{"version":2,"stores":{}}`:  "format version 2",
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
