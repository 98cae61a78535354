//go:build !windows

package tpmseal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
)

// Open opens the TPM dev names: "" for the system's (/dev/tpmrm0, the
// kernel's resource manager), a device path, or "unix:PATH" for a TPM
// simulator's socket (swtpm socket --server type=unixio).
func Open(dev string) (Device, error) {
	if p, ok := strings.CutPrefix(dev, "unix:"); ok {
		c, err := net.Dial("unix", p)
		if err != nil {
			return nil, err
		}
		return &streamTPM{c}, nil
	}
	if runtime.GOOS != "linux" && dev == "" {
		return nil, errors.New("kr talks to a TPM on Linux and Windows only")
	}
	if dev == "" {
		dev = "/dev/tpmrm0"
	}
	// Opened blocking, as the kernel's TPM device is meant to be used:
	// the write runs the command and returns when the TPM is done, and
	// the read after it returns the whole response.
	fd, err := syscall.Open(dev, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dev, Err: err}
	}
	return &deviceTPM{os.NewFile(uintptr(fd), dev)}, nil
}

// deviceTPM is the kernel's TPM character device: a command goes in one
// write and its whole response comes back in the next read.
type deviceTPM struct{ f *os.File }

func (d *deviceTPM) Send(cmd []byte) ([]byte, error) {
	if _, err := d.f.Write(cmd); err != nil {
		return nil, err
	}
	buf := make([]byte, maxResponse)
	n, err := d.f.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func (d *deviceTPM) Close() error { return d.f.Close() }

// streamTPM is a TPM simulator's stream socket (swtpm's unixio server):
// the response's size is in its header, so that many bytes are read.
type streamTPM struct{ c net.Conn }

func (s *streamTPM) Send(cmd []byte) ([]byte, error) {
	if _, err := s.c.Write(cmd); err != nil {
		return nil, err
	}
	return readResponse(s.c)
}

func (s *streamTPM) Close() error { return s.c.Close() }

// readResponse reads one response from a stream, refusing a size outside
// a header's and maxResponse.
func readResponse(r io.Reader) ([]byte, error) {
	h := make([]byte, headerSize)
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("read the TPM's response: %w", err)
	}
	n := binary.BigEndian.Uint32(h[2:])
	if n < headerSize || n > maxResponse {
		return nil, fmt.Errorf("%w: size %d", errResponse, n)
	}
	buf := make([]byte, n)
	copy(buf, h)
	if _, err := io.ReadFull(r, buf[headerSize:]); err != nil {
		return nil, fmt.Errorf("read the TPM's response: %w", err)
	}
	return buf, nil
}
