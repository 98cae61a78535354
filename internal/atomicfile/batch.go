package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Batch replaces many files at once, paying for durability once instead of
// per file: Write puts each new content in a temp file beside its target,
// Commit makes them all durable, then renames each over its target and
// syncs each directory once. Until Commit renames, every target still holds
// its old content; a crash during the renames leaves each file old or new.
// A Batch is for one goroutine.
type Batch struct {
	pending []pendingFile
	dirs    map[string]bool
}

type pendingFile struct{ tmp, path string }

// Write stages data to replace path (mode 0600).
func (b *Batch) Write(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, tmp, err := createTemp(dir)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !syncAllAtOnce {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	b.pending = append(b.pending, pendingFile{tmp, path})
	if b.dirs == nil {
		b.dirs = map[string]bool{}
	}
	b.dirs[dir] = true
	return nil
}

// Commit makes the staged files durable and renames each over its target.
// On an error before the renames, no target has changed.
func (b *Batch) Commit() error {
	if len(b.pending) == 0 {
		return nil
	}
	if syncAllAtOnce {
		if err := syncFileSystems(b.dirs); err != nil {
			b.Abort()
			return fmt.Errorf("sync: %w", err)
		}
	}
	for i, p := range b.pending {
		if err := os.Rename(p.tmp, p.path); err != nil {
			b.pending = b.pending[i:]
			b.Abort()
			return fmt.Errorf("replace %s: %w", p.path, err)
		}
	}
	for d := range b.dirs {
		SyncDir(d)
	}
	b.pending, b.dirs = nil, nil
	return nil
}

// Abort removes the temp files not renamed yet.
func (b *Batch) Abort() {
	// A temp file that cannot be removed is swept later by the vault's
	// stale-temp cleanup.
	for _, p := range b.pending {
		os.Remove(p.tmp)
	}
	b.pending, b.dirs = nil, nil
}
