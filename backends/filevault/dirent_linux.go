package filevault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// readDirTypes calls fn with the name and type of every entry of the open
// directory f (dir is its path), reading it with getdents64 into buf. It
// allocates nothing per entry, where os.File.ReadDir makes a DirEntry and
// a string for each: for a vault of 10,000 secrets that was most of what
// List cost. name points into buf and is valid only during the call; fn
// copies what it keeps. An entry whose type the file system leaves out
// (DT_UNKNOWN) is looked up with Lstat, as os.File.ReadDir does.
func readDirTypes(f *os.File, dir string, buf []byte, fn func(name string, t fs.FileMode) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for {
		var n int
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			for {
				n, rerr = syscall.ReadDirent(int(fd), buf)
				if rerr != syscall.EINTR {
					return
				}
			}
		}); err != nil {
			return err
		}
		if rerr != nil {
			return &fs.PathError{Op: "readdirent", Path: dir, Err: rerr}
		}
		if n <= 0 {
			return nil
		}
		// struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2),
		// d_type (1), d_name (NUL-terminated, padded to d_reclen).
		for rec := buf[:n]; len(rec) > 0; {
			if len(rec) < 19 {
				return fmt.Errorf("%s: a directory entry cut short", dir)
			}
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 19 || reclen > len(rec) {
				return fmt.Errorf("%s: a directory entry of %d bytes", dir, reclen)
			}
			typ, nameBytes := rec[18], rec[19:reclen]
			rec = rec[reclen:]
			for i, c := range nameBytes {
				if c == 0 {
					nameBytes = nameBytes[:i]
					break
				}
			}
			if len(nameBytes) == 0 {
				continue
			}
			name := unsafe.String(&nameBytes[0], len(nameBytes))
			var t fs.FileMode
			switch typ {
			case syscall.DT_REG:
			case syscall.DT_DIR:
				t = fs.ModeDir
			case syscall.DT_LNK:
				t = fs.ModeSymlink
			case syscall.DT_FIFO:
				t = fs.ModeNamedPipe
			case syscall.DT_SOCK:
				t = fs.ModeSocket
			case syscall.DT_CHR:
				t = fs.ModeDevice | fs.ModeCharDevice
			case syscall.DT_BLK:
				t = fs.ModeDevice
			default:
				fi, err := os.Lstat(filepath.Join(dir, name))
				if errors.Is(err, fs.ErrNotExist) {
					continue // removed since the read, as os.File.ReadDir skips it
				}
				if err != nil {
					return err
				}
				t = fi.Mode().Type()
			}
			if err := fn(name, t); err != nil {
				return err
			}
		}
	}
}
