// Package limitio reads files through a size limit, so that no parser or
// decoder in kr is handed more than it is built for, and no read of a file
// the user named can block: a FIFO or a device in its place is refused.
package limitio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// ReadFile reads the regular file at path, failing when it holds more than
// limit bytes. Anything else there (a FIFO, a device, a directory) is an
// error at once: the open does not wait for a writer.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Read(f, path, limit)
}

// OpenRegular opens path for reading only when it is a regular file
// (symbolic links are followed). Opening a FIFO for reading would otherwise
// block until some writer appears, past any deadline.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, kind(fi.Mode()))
	}
	return f, nil
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m.IsDir():
		return "a directory"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// ErrTooLarge matches (errors.Is) the error of ReadFile and Read when the
// data is over the limit.
var ErrTooLarge = errors.New("over the size limit")

type tooLarge struct {
	name  string
	limit int64
}

func (e *tooLarge) Error() string        { return fmt.Sprintf("%s is larger than %d bytes", e.name, e.limit) }
func (e *tooLarge) Is(target error) bool { return target == ErrTooLarge }

// Read reads all of r, named name in errors, failing past limit bytes:
// never a silent cut. It wipes every buffer it outgrows, and on failure
// the one it was filling, as r may be a decryption; io.ReadAll leaves its
// intermediate chunks behind.
func Read(r io.Reader, name string, limit int64) ([]byte, error) {
	if limit < 0 || limit == math.MaxInt64 {
		return nil, fmt.Errorf("read %s: bad limit %d", name, limit)
	}
	b := make([]byte, 0, min(limit+1, 512))
	for {
		if len(b) == cap(b) {
			grown := make([]byte, len(b), min(2*int64(cap(b)), limit+1))
			copy(grown, b)
			clear(b)
			b = grown
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			clear(b)
			return nil, &tooLarge{name, limit}
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			clear(b)
			return nil, err
		}
	}
}
