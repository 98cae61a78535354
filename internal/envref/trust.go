package envref

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/limitio"
)

// ProjectFile is the per-directory env file, loaded only once allowed.
const ProjectFile = ".kr.env"

// Trust records which project files the user allowed, by absolute path and
// the SHA-256 of their exact content: like direnv, a changed file is
// untrusted until allowed again. The path is the one the user allowed, not
// where a symlink in it points: keyed by the target, any directory could
// borrow an allowed file by linking to it.
type Trust struct {
	Path string // the record, a JSON object path -> hex digest
}

// DefaultTrust keeps the record in kr's configuration directory.
func DefaultTrust(getenv func(string) string) (*Trust, error) {
	dir, err := config.Dir(getenv)
	if err != nil {
		return nil, err
	}
	return &Trust{Path: filepath.Join(dir, "allowed.json")}, nil
}

func (t *Trust) load() (map[string]string, error) {
	m := map[string]string{}
	b, err := limitio.ReadFile(t.Path, 4<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", t.Path, err)
	}
	return m, nil
}

func (t *Trust) save(m map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(t.Path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(t.Path, append(b, '\n'))
}

// key is the record's key for path: absolute and cleaned, symlinks kept.
func key(path string) (string, error) {
	return filepath.Abs(path) // Abs cleans
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Allow records path's current content as trusted.
func (t *Trust) Allow(path string) error {
	p, err := key(path)
	if err != nil {
		return err
	}
	b, err := limitio.ReadFile(p, MaxFileSize)
	if err != nil {
		return err
	}
	if _, err := Parse(b, path); err != nil {
		return fmt.Errorf("not allowed: %w", err)
	}
	m, err := t.load()
	if err != nil {
		return err
	}
	m[p] = digest(b)
	return t.save(m)
}

// Revoke forgets path. It reports whether there was a record.
func (t *Trust) Revoke(path string) (bool, error) {
	p, err := key(path)
	if err != nil {
		return false, err
	}
	m, err := t.load()
	if err != nil {
		return false, err
	}
	if _, ok := m[p]; !ok {
		return false, nil
	}
	delete(m, p)
	return true, t.save(m)
}

// Status of a project file.
type Status int

const (
	Absent     Status = iota // no file
	Allowed                  // content matches the record
	NotAllowed               // never allowed
	Changed                  // allowed once, changed since
)

// Check says whether path's content is trusted. The content returned is
// the one checked, so what is parsed is what was allowed. A file with no
// record is not read at all: whatever a directory holds under the name
// (a FIFO, a device) cannot stall or trouble kr before it is allowed.
func (t *Trust) Check(path string) (Status, []byte, error) {
	p, err := key(path)
	if err != nil {
		return Absent, nil, err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return Absent, nil, nil
	}
	m, err := t.load()
	if err != nil {
		return Absent, nil, err
	}
	want, ok := m[p]
	if !ok {
		return NotAllowed, nil, nil
	}
	b, err := limitio.ReadFile(p, MaxFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return Absent, nil, nil
	}
	if err != nil {
		return Absent, nil, err
	}
	if want != digest(b) {
		return Changed, nil, nil
	}
	return Allowed, b, nil
}
