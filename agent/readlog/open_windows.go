package readlog

import "os"

// On Windows the file inherits the configuration directory's DACL
// (%APPDATA% is the user's own).
func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}
