package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/atomicfile"
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

type storesRecord struct {
	Version int `json:"version"`
	// Stores maps service -> GOOS -> backend name.
	Stores map[string]map[string]string `json:"stores"`
}

// LoadStores reads the record in dir; a missing file is an empty record.
func LoadStores(dir string) (*Stores, error) {
	s := &Stores{path: filepath.Join(dir, StoresFile), rec: storesRecord{Version: storesVersion}}
	b, err := limitio.ReadFile(s.path, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the store record: %w", err)
	}
	if err := strictjson.Unmarshal(b, &s.rec); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", s.path, err)
	}
	if s.rec.Version != storesVersion {
		return nil, fmt.Errorf("%s has format version %d; this kr reads version %d", s.path, s.rec.Version, storesVersion)
	}
	return s, nil
}

// Path is the record's file.
func (s *Stores) Path() string { return s.path }

// Get returns the store recorded for service on goos, or "".
func (s *Stores) Get(service, goos string) string {
	return s.rec.Stores[service][goos]
}

// Set records store for service on goos; "" forgets it. Save writes it.
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

// Save writes the record atomically, creating the directory (0700).
func (s *Stores) Save() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save the store record: %w", err)
	}
	b, err := json.MarshalIndent(s.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.path, append(b, '\n')); err != nil {
		return fmt.Errorf("save the store record: %w", err)
	}
	return nil
}
