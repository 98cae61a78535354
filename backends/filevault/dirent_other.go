//go:build !linux

package filevault

import (
	"io/fs"
	"os"
)

// readDirTypes calls fn with the name and type of every entry of the open
// directory f. Linux reads the entries without a DirEntry each
// (dirent_linux.go); elsewhere os.File.ReadDir does.
func readDirTypes(f *os.File, dir string, buf []byte, fn func(name string, t fs.FileMode) error) error {
	ents, err := f.ReadDir(-1)
	if err != nil {
		return err
	}
	for _, d := range ents {
		if err := fn(d.Name(), d.Type()); err != nil {
			return err
		}
	}
	return nil
}
