package cli

import (
	"os"
	"path/filepath"
	"runtime"
)

// defaultVaultDir is where the vault lives without --vault or KR_VAULT.
// TODO: replace with file.DefaultDir once the vault package has it.
func defaultVaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "kr", "vault"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "kr", "vault"), nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kr", "vault"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "kr", "vault"), nil
}
