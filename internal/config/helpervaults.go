package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// HelperVaultsFile records, in Dir, the shared vaults the user named in
// `kr setup`: credential helpers file logins there on purpose. Any other
// vault that members besides the user read takes no login, whatever
// KR_VAULT says.
//
//	{"version": 1, "vaults": ["/home/me/team-vault"]}
const HelperVaultsFile = "helper-vaults.json"

const helperVaultsVersion = 1

type helperVaults struct {
	Version int      `json:"version"`
	Vaults  []string `json:"vaults"`
}

func parseHelperVaults(path string, b []byte) (*helperVaults, error) {
	rec := &helperVaults{Version: helperVaultsVersion}
	if b == nil {
		return rec, nil
	}
	if err := strictjson.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", path, err)
	}
	if rec.Version != helperVaultsVersion {
		return nil, fmt.Errorf("%s has format version %d; this kr reads version %d", path, rec.Version, helperVaultsVersion)
	}
	return rec, nil
}

// HelperVault reports whether the user named the vault in vaultDir for
// credential helpers (see HelperVaultsFile).
func HelperVault(configDir, vaultDir string) (bool, error) {
	k, err := ResolveDir(vaultDir)
	if err != nil {
		return false, err
	}
	path := filepath.Join(configDir, HelperVaultsFile)
	b, err := limitio.ReadFile(path, MaxRecord)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	rec, err := parseHelperVaults(path, b)
	if err != nil {
		return false, err
	}
	return slices.Contains(rec.Vaults, k), nil
}

// AddHelperVault records the vault in vaultDir as one credential helpers
// may write into.
func AddHelperVault(configDir, vaultDir string) error {
	k, err := ResolveDir(vaultDir)
	if err != nil {
		return err
	}
	path := filepath.Join(configDir, HelperVaultsFile)
	return Update(path, func(old []byte) ([]byte, error) {
		rec, err := parseHelperVaults(path, old)
		if err != nil {
			return nil, err
		}
		if slices.Contains(rec.Vaults, k) {
			return old, nil
		}
		rec.Vaults = append(rec.Vaults, k)
		b, err := json.MarshalIndent(rec, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	})
}
