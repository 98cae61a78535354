package filevault

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault/format"
)

// lister walks secrets/ for List. Each directory on the way down is
// opened once (never through a symlink) and checked on its descriptor as
// checkDirInfo does; a file's type comes with its directory entry. A
// file's owner and mode are not looked up: in a directory that is ours and
// that nobody else can write, nobody else can have put a name there, and
// a name says nothing of its file's content, which Get checks before it
// reads. Names are gathered in one buffer and cut from one string at the
// end, and directories are read into one reused buffer, so a vault of
// many secrets costs few allocations per name.
type lister struct {
	ctx    context.Context
	buf    []byte // every name, back to back
	ends   []int  // where each name in buf ends
	dirBuf []byte // directory entries as read (readDirTypes)
}

// walk lists dir, whose escaped path below secrets/ is rel ("" for
// secrets/ itself). plain means rel is its own unescaped name: every
// segment above was a plainSegment, so names below need no unescaping.
// Subdirectories are walked once dir is read and closed, so that one
// buffer serves every read and one descriptor is open at a time.
func (l *lister) walk(dir, rel string, plain bool) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	f, err := openDirChecked(dir)
	if err != nil {
		return err
	}
	if l.dirBuf == nil {
		l.dirBuf = make([]byte, 16<<10)
	}
	var subdirs []string
	err = readDirTypes(f, dir, l.dirBuf, func(base string, t fs.FileMode) error {
		if strings.HasPrefix(base, ".") {
			return nil // temp files and anything hidden are kr's own
		}
		switch {
		case t&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symlink: kr follows none inside a vault", filepath.Join(dir, base))
		case t.IsDir():
			subdirs = append(subdirs, strings.Clone(base))
		default:
			stem, ok := strings.CutSuffix(base, secretExt)
			if !ok || !l.add(rel, stem, plain) {
				return nil // not a file kr wrote
			}
			if !t.IsRegular() {
				// A name listed must be one Get will read: not a FIFO.
				return checkFile(filepath.Join(dir, base))
			}
		}
		return nil
	})
	f.Close()
	if err != nil {
		return err
	}
	for _, base := range subdirs {
		sub := base
		if rel != "" {
			sub = rel + "/" + base
		}
		if err := l.walk(filepath.Join(dir, base), sub, plain && format.PlainSegment(base, true)); err != nil {
			return err
		}
	}
	return nil
}

// add appends the name of the file rel/stem.age when it is one kr writes,
// reporting whether it was.
func (l *lister) add(rel, stem string, plain bool) bool {
	if plain && format.PlainSegment(stem, false) {
		if len(rel)+1+len(stem) > backends.MaxNameSize {
			return false
		}
		if rel != "" {
			l.buf = append(l.buf, rel...)
			l.buf = append(l.buf, '/')
		}
		l.buf = append(l.buf, stem...)
	} else {
		p := stem
		if rel != "" {
			p = rel + "/" + stem
		}
		name, err := format.UnescapeName(p)
		if err != nil || backends.ValidateName(name) != nil {
			return false
		}
		l.buf = append(l.buf, name...)
	}
	l.ends = append(l.ends, len(l.buf))
	return true
}

// start is where name i begins in buf.
func (l *lister) start(i int) int {
	if i == 0 {
		return 0
	}
	return l.ends[i-1]
}

// result cuts the names under prefix from one string, unsorted.
func (l *lister) result(prefix string) []string {
	all := string(l.buf)
	names := make([]string, 0, len(l.ends))
	for i, end := range l.ends {
		if n := all[l.start(i):end]; strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return names
}

// openDirChecked opens a directory inside the vault without following a
// symlink and checks it on the descriptor, as checkDirInfo does.
func openDirChecked(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if fi, lerr := os.Lstat(dir); lerr == nil {
			if cerr := checkDirInfo(dir, fi); cerr != nil {
				return nil, cerr
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = checkDirInfo(dir, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
