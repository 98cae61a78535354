// Package config locates kr's per-user configuration directory, where the
// records that belong to the user and not to any store live: the allowed
// project files, the store chosen for each service, the accepted vault
// recipients. Every record is changed through Update: under a lock file
// beside it, so two kr processes changing one record keep both changes.
package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns KR_CONFIG_DIR, else the "kr" folder of the user's
// configuration directory ($XDG_CONFIG_HOME or ~/.config, %AppData%,
// ~/Library/Application Support). It does not create it.
func Dir(getenv func(string) string) (string, error) {
	if dir := getenv("KR_CONFIG_DIR"); dir != "" {
		return filepath.Abs(dir)
	}
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the configuration directory: %w (set KR_CONFIG_DIR)", err)
	}
	return filepath.Join(d, "kr"), nil
}
