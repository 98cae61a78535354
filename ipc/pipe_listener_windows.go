//go:build windows

package ipc

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/windows"
)

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

// listen creates the first instance of the pipe, owner-only, local only.
// If an instance exists already (a running agent, or a squatter), it fails.
func listen(name string) (net.Listener, error) {
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
		c := newPipeConn(h, l.name, true)
		c.pid = int(pid)
		return c, nil
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
