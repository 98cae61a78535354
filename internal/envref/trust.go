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

func (t *Trust) load() (map[string]string, error) { return loadRecord(t.Path) }

// deniedPath holds, next to the trust record, the content of each project
// file the user denied: path -> hex digest. A denied file is neither loaded
// nor mentioned until its content changes.
func (t *Trust) deniedPath() string {
	return filepath.Join(filepath.Dir(t.Path), "denied.json")
}

// loadRecord reads a JSON object of path -> digest. Not strictjson: paths
// that differ only in case are different files on most systems.
func loadRecord(path string) (map[string]string, error) {
	b, err := limitio.ReadFile(path, 4<<20)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseRecord(path, b)
}

func parseRecord(path string, b []byte) (map[string]string, error) {
	m := map[string]string{}
	if b == nil {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// updateRecord changes the record at path under its lock (config.Update),
// so two kr processes allowing files at once keep both: change sees the
// record as it is now and reports whether it changed it.
func updateRecord(path string, change func(m map[string]string) bool) error {
	return config.Update(path, func(old []byte) ([]byte, error) {
		m, err := parseRecord(path, old)
		if err != nil {
			return nil, err
		}
		if !change(m) {
			return old, nil
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	})
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
	d := digest(b)
	err = updateRecord(t.Path, func(m map[string]string) bool {
		if m[p] == d {
			return false
		}
		m[p] = d
		return true
	})
	if err != nil {
		return err
	}
	return t.forgetDenial(p)
}

// Revoke forgets path. It reports whether there was a record.
func (t *Trust) Revoke(path string) (bool, error) {
	p, err := key(path)
	if err != nil {
		return false, err
	}
	had := false
	err = updateRecord(t.Path, func(m map[string]string) bool {
		_, had = m[p]
		delete(m, p)
		return had
	})
	if err != nil {
		return had, err
	}
	// Revoked is undecided again, not denied: the next run asks.
	return had, t.forgetDenial(p)
}

// Deny revokes path if it was allowed and records its current content as
// denied: kr neither loads it nor mentions it until it changes.
func (t *Trust) Deny(path string) error {
	p, err := key(path)
	if err != nil {
		return err
	}
	b, err := limitio.ReadFile(p, MaxFileSize)
	if err != nil {
		return err
	}
	err = updateRecord(t.Path, func(m map[string]string) bool {
		_, had := m[p]
		delete(m, p)
		return had
	})
	if err != nil {
		return err
	}
	d := digest(b)
	return updateRecord(t.deniedPath(), func(m map[string]string) bool {
		changed := m[p] != d
		m[p] = d
		return changed
	})
}

func (t *Trust) forgetDenial(p string) error {
	return updateRecord(t.deniedPath(), func(m map[string]string) bool {
		_, had := m[p]
		delete(m, p)
		return had
	})
}

// FindProjectFile returns the project file that applies in dir: ProjectFile
// in dir or in the nearest parent that has one, as direnv finds .envrc. The
// search stops at the first directory that is a repository's root (holds
// .git) or is home, whichever comes first, and never looks above it; with
// neither above dir it goes up to the file system's root. It returns ""
// when there is none.
func FindProjectFile(dir, home string) string {
	dir = filepath.Clean(dir)
	var homeInfo fs.FileInfo
	if home != "" {
		homeInfo, _ = os.Stat(home)
	}
	for {
		p := filepath.Join(dir, ProjectFile)
		if _, err := os.Lstat(p); err == nil {
			return p
		}
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return ""
		}
		if home != "" && (dir == filepath.Clean(home) || homeInfo != nil && sameDir(dir, homeInfo)) {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func sameDir(dir string, fi fs.FileInfo) bool {
	di, err := os.Stat(dir)
	return err == nil && os.SameFile(di, fi)
}

// Status of a project file.
type Status int

const (
	Absent     Status = iota // no file
	Allowed                  // content matches the record
	NotAllowed               // never allowed, nor denied as it is now
	Changed                  // allowed once, changed since
	Denied                   // denied as it is now
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
		return t.checkDenied(p)
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

// checkDenied tells a file the user denied as it is now (Denied) from one
// nobody decided about (NotAllowed). Only a file with a denial on record is
// read, for the reason Check gives.
func (t *Trust) checkDenied(p string) (Status, []byte, error) {
	m, err := loadRecord(t.deniedPath())
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
	if err != nil || want != digest(b) {
		// A denied file that changed (or cannot be read) is undecided again.
		return NotAllowed, nil, nil
	}
	return Denied, nil, nil
}
