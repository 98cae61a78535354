// Package readlog is the agent's read log: one JSON line per read through
// the agent (time, secret name, program, pid, decision; never a value),
// in a file only this user can read, bounded in size: past MaxSize the
// file becomes FILE.1 (replacing the one before) and a new one starts.
package readlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/limitio"
)

// FileName is the log's name in kr's configuration directory.
const FileName = "agent-reads.log"

// MaxSize bounds each of the two files.
const MaxSize = 1 << 20

// Log appends to the file at Path; it is safe for concurrent use.
type Log struct {
	Path string
	Max  int64 // 0: MaxSize

	mu sync.Mutex
}

// Append writes one entry. The file is created 0600 and, if someone
// widened it, narrowed again; a symlink at Path is refused.
func (l *Log) Append(r agent.Read) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	max := l.Max
	if max <= 0 {
		max = MaxSize
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := openAppend(l.Path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Size()+int64(len(line)) > max && fi.Size() > 0 {
		f.Close()
		if err := os.Rename(l.Path, l.Path+".1"); err != nil {
			return err
		}
		if f, err = openAppend(l.Path); err != nil {
			return err
		}
	}
	defer f.Close()
	_, err = f.Write(line)
	return err
}

// Read returns the entries of the log at path, oldest first: FILE.1's,
// then FILE's. A log that does not exist is empty; a line that does not
// parse is skipped (a write cut short by a crash).
func Read(path string) ([]agent.Read, error) {
	var out []agent.Read
	for _, p := range []string{path + ".1", path} {
		b, err := limitio.ReadFile(p, 2*MaxSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read log %s: %w", p, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 4096), MaxSize)
		for sc.Scan() {
			var r agent.Read
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				out = append(out, r)
			}
		}
	}
	return out, nil
}
