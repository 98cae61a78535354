// Package vaultstate keeps what one clone of a signed shared vault has
// seen: the vault's id, the highest membership epoch, its members and
// those it saw removed and, per secret, the highest counter. A file older than what the clone saw is a rollback, so
// this record lives in kr's config directory, where whoever can push to
// the vault cannot write (like the accepted recipients, internal/recipients).
//
//	vaultstate/<sha256 of the vault's directory, 32 hex>.json
//	{"version": 1, "dir": "/path", "vault": "<id>", "epoch": 4,
//	 "members": ["age1..."], "removed": {"age1...": 3},
//	 "counters": {"db/prod": 7}}
//
// One file per clone: a vault of thousands of names does not slow down
// reads of another, and a clone's record goes with its directory.
package vaultstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// State is what a clone has seen of a signed vault.
type State struct {
	Version int    `json:"version"`
	Dir     string `json:"dir"`
	VaultID string `json:"vault,omitempty"`
	Epoch   uint64 `json:"epoch,omitempty"`
	// Members are the age keys of the member list at Epoch, and Removed
	// each key this clone saw leave, with the epoch of the first list it
	// saw without them. An entry of theirs signed at or before that epoch
	// is one from before the removal, put back.
	Members  []string          `json:"members,omitempty"`
	Removed  map[string]uint64 `json:"removed,omitempty"`
	Counters map[string]uint64 `json:"counters,omitempty"`
}

const formatVersion = 1

// Store keeps the states under Dir (kr's config directory).
type Store struct {
	Dir string
}

// Default is the store in kr's config directory.
func Default(getenv func(string) string) (*Store, error) {
	dir, err := config.Dir(getenv)
	if err != nil {
		return nil, err
	}
	return &Store{Dir: dir}, nil
}

func (s *Store) path(vaultDir string) (string, string, error) {
	abs, err := filepath.Abs(vaultDir)
	if err != nil {
		return "", "", err
	}
	k, err := config.ResolveDir(abs)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(k))
	return filepath.Join(s.Dir, "vaultstate", hex.EncodeToString(sum[:16])+".json"), k, nil
}

func parse(path, dir string, b []byte) (*State, error) {
	if b == nil {
		return &State{Version: formatVersion, Dir: dir, Counters: map[string]uint64{}}, nil
	}
	var st State
	if err := strictjson.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Version != formatVersion {
		return nil, fmt.Errorf("%s: format version %d is not supported (this kr reads version %d)", path, st.Version, formatVersion)
	}
	if st.Dir != dir {
		return nil, fmt.Errorf("%s: recorded for %s, not %s", path, st.Dir, dir)
	}
	if st.Counters == nil {
		st.Counters = map[string]uint64{}
	}
	return &st, nil
}

// Load returns the state of the vault in vaultDir; an empty one when none
// is recorded.
func (s *Store) Load(vaultDir string) (*State, error) {
	path, dir, err := s.path(vaultDir)
	if err != nil {
		return nil, err
	}
	b, err := limitio.ReadFile(path, config.MaxRecord)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the vault's state: %w", err)
	}
	return parse(path, dir, b)
}

// Update changes the vault's state under its lock: change sees what
// another kr recorded meanwhile.
func (s *Store) Update(vaultDir string, change func(st *State) error) error {
	path, dir, err := s.path(vaultDir)
	if err != nil {
		return err
	}
	err = config.Update(path, func(old []byte) ([]byte, error) {
		st, err := parse(path, dir, old)
		if err != nil {
			return nil, err
		}
		if err := change(st); err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	})
	if err != nil {
		return fmt.Errorf("record the vault's state: %w", err)
	}
	return nil
}
