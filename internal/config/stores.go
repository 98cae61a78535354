package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// StoresFile is the record of which store each service uses, in Dir.
const StoresFile = "stores.json"

const storesVersion = 1

// Stores records the store chosen for each service, per operating system:
// configuration directories get synced between machines, and the store
// chosen on a Mac (keychain) says nothing about the one a Linux desktop
// should use. Keying by OS keeps each machine kind's choice apart instead
// of letting them overwrite each other on every sync.
type Stores struct {
	path string
	rec  storesRecord
}

// storesRecord is the file's content. A new table (mount points, say)
// is one more field here: UpdateStores reads and writes the whole record,
// so a change to one table keeps the others.
type storesRecord struct {
	Version int `json:"version"`
	// Stores maps service -> GOOS -> backend name.
	Stores map[string]map[string]string `json:"stores"`
}

// LoadStores reads the record in dir; a missing file is an empty record.
func LoadStores(dir string) (*Stores, error) {
	path := filepath.Join(dir, StoresFile)
	b, err := limitio.ReadFile(path, MaxRecord)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the store record: %w", err)
	}
	return parseStores(path, b)
}

// parseStores reads the record at path from its content b (none: empty).
func parseStores(path string, b []byte) (*Stores, error) {
	s := &Stores{path: path, rec: storesRecord{Version: storesVersion}}
	if b == nil {
		return s, nil
	}
	if err := strictjson.Unmarshal(b, &s.rec); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", s.path, err)
	}
	if s.rec.Version != storesVersion {
		return nil, fmt.Errorf("%s has format version %d; this kr reads version %d", s.path, s.rec.Version, storesVersion)
	}
	return s, nil
}

// UpdateStores changes the record in dir under its lock (see Update):
// change sees the record as it is now, including what another kr wrote
// since this one last read it, and what it sets is saved. An error from
// change saves nothing.
func UpdateStores(dir string, change func(s *Stores) error) error {
	path := filepath.Join(dir, StoresFile)
	err := Update(path, func(old []byte) ([]byte, error) {
		s, err := parseStores(path, old)
		if err != nil {
			return nil, err
		}
		if err := change(s); err != nil {
			return nil, err
		}
		if old != nil || len(s.rec.Stores) > 0 {
			return s.encode()
		}
		return nil, nil // nothing recorded and nothing to record
	})
	if err != nil {
		return fmt.Errorf("save the store record: %w", err)
	}
	return nil
}

// Path is the record's file.
func (s *Stores) Path() string { return s.path }

// Get returns the store recorded for service on goos, or "".
func (s *Stores) Get(service, goos string) string {
	return s.rec.Stores[service][goos]
}

// Set records store for service on goos; "" forgets it. Only a change
// made inside UpdateStores is saved.
func (s *Stores) Set(service, goos, store string) {
	if s.rec.Stores == nil {
		s.rec.Stores = map[string]map[string]string{}
	}
	if store == "" {
		delete(s.rec.Stores[service], goos)
		if len(s.rec.Stores[service]) == 0 {
			delete(s.rec.Stores, service)
		}
		return
	}
	if s.rec.Stores[service] == nil {
		s.rec.Stores[service] = map[string]string{}
	}
	s.rec.Stores[service][goos] = store
}

func (s *Stores) encode() ([]byte, error) {
	b, err := json.MarshalIndent(s.rec, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
