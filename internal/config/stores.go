package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// StoresFile is the record of which store each service uses, in Dir.
const StoresFile = "stores.json"

// storesVersion is the format written when the record holds only store
// choices; storesVersionMounts when it holds mounts or notices too, so that
// a kr that knows no mounts refuses the record (naming the version it
// needs) instead of sending mounted names to the OS store.
const (
	storesVersion       = 1
	storesVersionMounts = 2
)

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
	// Mounts maps service -> prefix -> where names under prefix+"/" live.
	Mounts map[string]map[string]MountTarget `json:"mounts,omitempty"`
	// Told lists the one-time notices already shown.
	Told []string `json:"told,omitempty"`
}

// MountTarget is the store a mounted prefix's names live in. Kind says
// what the other fields mean: MountFile is the file vault at Dir (an
// absolute path); MountAWSSecrets and MountAWSSSM are AWS services in
// Region ("": the user's AWS configuration says); MountVault is the KV
// version 2 engine at URL (https://HOST/MOUNT). A remote store's values
// may be kept by the agent for TTL seconds (0: never).
type MountTarget struct {
	Kind   string `json:"kind"`
	Dir    string `json:"dir,omitempty"`
	Region string `json:"region,omitempty"`
	URL    string `json:"url,omitempty"`
	TTL    int    `json:"ttl,omitempty"`
}

// Mount kinds.
const (
	MountFile       = "file"
	MountAWSSecrets = "aws-secretsmanager"
	MountAWSSSM     = "aws-ssm"
	MountVault      = "vault"
)

// Remote reports whether the mount's store is reached over the network:
// such a store is read only when a name in it is asked for.
func (t MountTarget) Remote() bool { return t.Kind != MountFile }

// String says where the mount's names live, as people call it.
func (t MountTarget) String() string {
	switch t.Kind {
	case MountFile:
		return "the vault at " + t.Dir
	case MountAWSSecrets, MountAWSSSM:
		if t.Region != "" {
			return t.Kind + ":" + t.Region
		}
		return t.Kind + ":"
	case MountVault:
		return "vault+" + t.URL
	}
	return t.Kind
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
	if s.rec.Version != storesVersion && s.rec.Version != storesVersionMounts {
		return nil, fmt.Errorf("%s has format version %d; this kr reads versions %d and %d", s.path, s.rec.Version, storesVersion, storesVersionMounts)
	}
	for service, ms := range s.rec.Mounts {
		for prefix, t := range ms {
			if err := t.check(prefix); err != nil {
				return nil, fmt.Errorf("%s is damaged: service %s: %w", s.path, service, err)
			}
		}
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
		if old != nil || len(s.rec.Stores) > 0 || len(s.rec.Mounts) > 0 || len(s.rec.Told) > 0 {
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

// Mounts returns service's mounts: prefix -> target.
func (s *Stores) Mounts(service string) map[string]MountTarget {
	return s.rec.Mounts[service]
}

// Mount records that names under prefix+"/" of service live at t. The
// caller has checked that prefix overlaps no other mount.
func (s *Stores) Mount(service, prefix string, t MountTarget) error {
	if err := t.check(prefix); err != nil {
		return err
	}
	if s.rec.Mounts == nil {
		s.rec.Mounts = map[string]map[string]MountTarget{}
	}
	if s.rec.Mounts[service] == nil {
		s.rec.Mounts[service] = map[string]MountTarget{}
	}
	s.rec.Mounts[service][prefix] = t
	return nil
}

// Unmount forgets the mount at prefix; false when there was none.
func (s *Stores) Unmount(service, prefix string) bool {
	if _, ok := s.rec.Mounts[service][prefix]; !ok {
		return false
	}
	delete(s.rec.Mounts[service], prefix)
	if len(s.rec.Mounts[service]) == 0 {
		delete(s.rec.Mounts, service)
	}
	return true
}

// Told reports whether the one-time notice key was shown already.
func (s *Stores) Told(key string) bool { return slices.Contains(s.rec.Told, key) }

// Tell reports whether the one-time notice key is still to be shown, and
// records it as shown (saved when inside UpdateStores).
func (s *Stores) Tell(key string) bool {
	if s.Told(key) {
		return false
	}
	s.rec.Told = append(s.rec.Told, key)
	return true
}

func (t MountTarget) check(prefix string) error {
	if prefix == "" || strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") {
		return fmt.Errorf("mount prefix %q is not a name", prefix)
	}
	switch t.Kind {
	case MountFile:
		if !filepath.IsAbs(t.Dir) {
			return fmt.Errorf("mount %s: %q is not an absolute path", prefix, t.Dir)
		}
		return nil
	case MountAWSSecrets, MountAWSSSM:
		if strings.ContainsAny(t.Region, "/: ") {
			return fmt.Errorf("mount %s: %q is not an AWS region", prefix, t.Region)
		}
		return nil
	case MountVault:
		if !strings.HasPrefix(t.URL, "https://") && !strings.HasPrefix(t.URL, "http://") {
			return fmt.Errorf("mount %s: %q is not a Vault URL", prefix, t.URL)
		}
		return nil
	}
	return fmt.Errorf("mount %s: unknown kind %q", prefix, t.Kind)
}

func (s *Stores) encode() ([]byte, error) {
	s.rec.Version = storesVersion
	if len(s.rec.Mounts) > 0 || len(s.rec.Told) > 0 {
		s.rec.Version = storesVersionMounts
	}
	b, err := json.MarshalIndent(s.rec, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
