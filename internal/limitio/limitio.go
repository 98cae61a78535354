// Package limitio reads files through a size limit, so that no parser or
// decoder in kr is handed more than it is built for.
package limitio

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads path, failing when it holds more than limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, limit)
}

// Read reads all of r, named name in errors, failing past limit bytes.
func Read(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}
