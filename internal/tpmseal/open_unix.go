//go:build !windows

package tpmseal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Open opens the TPM dev names: "" for the system's (/dev/tpmrm0, the
// kernel's resource manager), a device path, or "unix:PATH" for a TPM
// simulator's socket (swtpm socket --server type=unixio).
//
// A simulator's socket is held to ctx: a simulator that accepts and never
// answers fails the command at its deadline, or when ctx is cancelled. The
// kernel's device answers or fails by itself.
func Open(ctx context.Context, dev string) (Device, error) {
	if p, ok := strings.CutPrefix(dev, "unix:"); ok {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", p)
		if err != nil {
			return nil, err
		}
		// Once ctx is done (its deadline, or cancelled), a deadline in the
		// past ends a read or write under way; ctx's own error is then
		// set, so Send reports it rather than the socket's timeout.
		stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
		return &streamTPM{c: c, ctx: ctx, stop: stop}, nil
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
type streamTPM struct {
	c    net.Conn
	ctx  context.Context
	stop func() bool
}

func (s *streamTPM) Send(cmd []byte) ([]byte, error) {
	resp, err := s.send(cmd)
	if err != nil && s.ctx.Err() != nil {
		return nil, fmt.Errorf("the TPM did not answer in time: %w", s.ctx.Err())
	}
	return resp, err
}

func (s *streamTPM) send(cmd []byte) ([]byte, error) {
	if _, err := s.c.Write(cmd); err != nil {
		return nil, err
	}
	return readResponse(s.c)
}

func (s *streamTPM) Close() error {
	s.stop()
	return s.c.Close()
}

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
