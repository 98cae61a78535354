//go:build windows

package ipc

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/windows"
)

// pipeConn is a net.Conn on a blocking pipe handle. The handle is closed
// only when no ReadFile or WriteFile is using it, so its value can never be
// reused under a call still in flight. A deadline that passes, or Close,
// cancels calls in flight with CancelIoEx: a stuck peer cannot hold the
// agent.
type pipeConn struct {
	h      windows.Handle
	name   string
	server bool
	pid    int // the client's process, as the kernel named it at accept

	mu       sync.Mutex
	ops      int  // calls using h right now
	closing  bool // Close was called: no new calls; the last one closes h
	shut     bool // h is closed
	expired  bool // the deadline passed
	deadline time.Time
	timer    *time.Timer
}

func newPipeConn(h windows.Handle, name string, server bool) *pipeConn {
	return &pipeConn{h: h, name: name, server: server}
}

// begin registers a call on h, or says why there may be none.
func (c *pipeConn) begin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closing:
		return net.ErrClosed
	case c.expired:
		return os.ErrDeadlineExceeded
	}
	c.ops++
	return nil
}

// end finishes a call and turns its error into net.Conn terms.
func (c *pipeConn) end(n uint32, err error, reading bool) (int, error) {
	c.mu.Lock()
	c.ops--
	if c.ops == 0 && c.closing {
		c.closeHandle()
	}
	closing, expired := c.closing, c.expired
	c.mu.Unlock()
	switch {
	case err == nil:
		if reading && n == 0 {
			return 0, io.EOF
		}
		return int(n), nil
	case errors.Is(err, windows.ERROR_BROKEN_PIPE), errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED):
		if reading {
			return int(n), io.EOF
		}
		return int(n), err
	case closing:
		return int(n), net.ErrClosed
	case expired:
		return int(n), os.ErrDeadlineExceeded
	}
	return int(n), err
}

func (c *pipeConn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if err := c.begin(); err != nil {
		return 0, err
	}
	var n uint32
	err := windows.ReadFile(c.h, b, &n, nil)
	return c.end(n, err, true)
}

func (c *pipeConn) Write(b []byte) (int, error) {
	if err := c.begin(); err != nil {
		return 0, err
	}
	var n uint32
	err := windows.WriteFile(c.h, b, &n, nil)
	return c.end(n, err, false)
}

// closeHandle closes h once; c.mu is held and no call is in flight. The
// server's instance is closed, not disconnected: a client can still read
// what was written before (DisconnectNamedPipe would discard it, and
// FlushFileBuffers would wait on a client that does not read).
func (c *pipeConn) closeHandle() {
	if !c.shut {
		c.shut = true
		windows.CloseHandle(c.h)
	}
}

func (c *pipeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return nil
	}
	c.closing = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.ops == 0 {
		c.closeHandle()
		return nil
	}
	c.cancelLater(0)
	return nil
}

// cancelLater cancels the calls in flight after d, and again every 20ms
// while any remain: a call that had not reached the kernel when it was
// cancelled would otherwise stay blocked. c.mu is held.
func (c *pipeConn) cancelLater(d time.Duration) {
	c.timer = time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ops == 0 || c.shut {
			return
		}
		if !c.closing && (c.deadline.IsZero() || time.Now().Before(c.deadline)) {
			return // the deadline was moved meanwhile
		}
		if !c.closing {
			c.expired = true
		}
		windows.CancelIoEx(c.h, nil)
		c.cancelLater(20 * time.Millisecond)
	})
}

func (c *pipeConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return net.ErrClosed
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.deadline = t
	c.expired = !t.IsZero() && !time.Now().Before(t)
	if t.IsZero() {
		return nil
	}
	if c.expired {
		if c.ops > 0 {
			windows.CancelIoEx(c.h, nil)
			c.cancelLater(20 * time.Millisecond)
		}
		return nil
	}
	c.timer = time.AfterFunc(time.Until(t), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closing || !c.deadline.Equal(t) {
			return
		}
		c.expired = true
		if c.ops > 0 {
			windows.CancelIoEx(c.h, nil)
			c.cancelLater(20 * time.Millisecond)
		}
	})
	return nil
}

// One deadline serves both directions: the agent sets them together.
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }
func (c *pipeConn) LocalAddr() net.Addr                { return pipeAddr(c.name) }
func (c *pipeConn) RemoteAddr() net.Addr               { return pipeAddr(c.name) }
