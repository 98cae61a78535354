//go:build windows

package ipc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/windows"
)

// DefaultPath is the named pipe \\.\pipe\kr-agent-<user SID>.
func DefaultPath(getenv func(string) string) (string, error) {
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	return `\\.\pipe\kr-agent-` + sid.String(), nil
}

// CheckDir has nothing to check on Windows: the pipe's own descriptor
// admits only this user.
func CheckDir(dir string) error { return nil }

// EnsureDir has nothing to make on Windows: a pipe lives in no directory.
func EnsureDir(dir string) error { return nil }

func userSID() (*windows.SID, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return tu.User.Sid.Copy()
}

// processSID is the user of the process pid, by its token.
func processSID(pid uint32) (*windows.SID, error) {
	p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(p)
	var tok windows.Token
	if err := windows.OpenProcessToken(p, windows.TOKEN_QUERY, &tok); err != nil {
		return nil, err
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return nil, err
	}
	return tu.User.Sid.Copy()
}

const pipeBuffer = 64 << 10

type pipeListener struct {
	name string
	sid  *windows.SID
	sa   *windows.SecurityAttributes

	mu        sync.Mutex
	next      windows.Handle // the instance the next Accept waits on
	accepting bool           // an Accept is blocked on next
	closed    bool
}

// Listen creates the first instance of the pipe, owner-only, local only.
// If an instance exists already (a running agent, or a squatter), it fails.
func Listen(name string) (net.Listener, error) {
	sid, err := userSID()
	if err != nil {
		return nil, err
	}
	sd, err := windows.SecurityDescriptorFromString("O:" + sid.String() + "D:P(A;;GA;;;" + sid.String() + ")")
	if err != nil {
		return nil, err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafeSizeofSA)
	l := &pipeListener{name: name, sid: sid, sa: sa}
	// FILE_FLAG_FIRST_PIPE_INSTANCE refuses a name in use on Windows, but
	// wine does not enforce it: look for an existing instance first.
	if p, err := windows.UTF16PtrFromString(name); err == nil {
		h, err := windows.CreateFile(p, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING,
			windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
		if err == nil {
			windows.CloseHandle(h)
		}
		if err == nil || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("%w on %s (or another process holds the pipe name)", ErrAgentRunning, name)
		}
	}
	h, err := l.instance(true)
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
			return nil, fmt.Errorf("%w on %s (or another process holds the pipe name)", ErrAgentRunning, name)
		}
		return nil, err
	}
	l.next = h
	return l, nil
}

func (l *pipeListener) instance(first bool) (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return 0, err
	}
	flags := uint32(windows.PIPE_ACCESS_DUPLEX)
	if first {
		flags |= windows.FILE_FLAG_FIRST_PIPE_INSTANCE
	}
	return windows.CreateNamedPipe(name, flags,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT|windows.PIPE_REJECT_REMOTE_CLIENTS,
		windows.PIPE_UNLIMITED_INSTANCES, pipeBuffer, pipeBuffer, 0, l.sa)
}

// Accept waits for a client, checks that its process belongs to this user,
// and returns the connection; other clients are disconnected unread.
func (l *pipeListener) Accept() (net.Conn, error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		h := l.next
		l.accepting = true
		l.mu.Unlock()
		err := windows.ConnectNamedPipe(h, nil)
		l.mu.Lock()
		l.accepting = false
		if l.closed {
			// Close left the waiting instance to us.
			windows.CloseHandle(h)
			l.mu.Unlock()
			return nil, net.ErrClosed
		}
		if errors.Is(err, windows.ERROR_NO_DATA) {
			// The client came and went before we looked: wait again.
			windows.DisconnectNamedPipe(h)
			l.mu.Unlock()
			continue
		}
		if err != nil && !errors.Is(err, windows.ERROR_PIPE_CONNECTED) {
			l.mu.Unlock()
			return nil, err
		}
		next, err := l.instance(false)
		if err != nil {
			// Keep h as the waiting instance, so Close still has one to close.
			windows.DisconnectNamedPipe(h)
			l.mu.Unlock()
			return nil, err
		}
		l.next = next
		l.mu.Unlock()
		var pid uint32
		ok := false
		if windows.GetNamedPipeClientProcessId(h, &pid) == nil {
			if sid, err := processSID(pid); err == nil && windows.EqualSid(sid, l.sid) {
				ok = true
			}
		}
		if !ok {
			windows.DisconnectNamedPipe(h)
			windows.CloseHandle(h)
			continue
		}
		return newPipeConn(h, l.name, true), nil
	}
}

// Close stops listening. The waiting instance is closed here unless an
// Accept is blocked on it: then that call is cancelled (and woken by a
// connection of our own, should cancelling not reach it) and closes it.
// Either way the handle is closed exactly once, while no call uses it.
func (l *pipeListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	if !l.accepting {
		err := windows.CloseHandle(l.next)
		l.mu.Unlock()
		return err
	}
	windows.CancelIoEx(l.next, nil)
	l.mu.Unlock()
	if c, err := dialPipe(l.name, 200*time.Millisecond); err == nil {
		c.Close()
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// Dial opens the pipe and checks that the server process is this user's
// before anything is sent (a squatter's pipe is refused).
func Dial(ctx context.Context, name string) (net.Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	for {
		c, err := dialPipe(name, time.Until(deadline))
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, windows.ERROR_PIPE_BUSY) || time.Now().After(deadline) {
			if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
				return nil, fmt.Errorf("%w (%s): %w", ErrNoAgent, name, os.ErrNotExist)
			}
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func dialPipe(name string, _ time.Duration) (net.Conn, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
		windows.SECURITY_SQOS_PRESENT|windows.SECURITY_IDENTIFICATION, 0)
	if err != nil {
		return nil, err
	}
	var pid uint32
	if err := windows.GetNamedPipeServerProcessId(h, &pid); err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	want, err := userSID()
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	sid, err := processSID(pid)
	if err != nil || !windows.EqualSid(sid, want) {
		windows.CloseHandle(h)
		return nil, fmt.Errorf("%w: the pipe %s is served by another user", ErrPeer, name)
	}
	return newPipeConn(h, name, false), nil
}

// pipeConn is a net.Conn on a blocking pipe handle. The handle is closed
// only when no ReadFile or WriteFile is using it, so its value can never be
// reused under a call still in flight. A deadline that passes, or Close,
// cancels calls in flight with CancelIoEx: a stuck peer cannot hold the
// agent.
type pipeConn struct {
	h      windows.Handle
	name   string
	server bool

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
