//go:build windows

package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// The listener is in pipe_listener_windows.go, the connection in
// pipe_conn_windows.go.

func defaultPath(getenv func(string) string) (string, error) {
	sid, err := userSID()
	if err != nil {
		return "", err
	}
	return `\\.\pipe\kr-agent-` + sid.String(), nil
}

// ensureDir has nothing to make on Windows: a pipe lives in no directory,
// and its own descriptor admits only this user.
func ensureDir(dir string) error { return nil }

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

// dial waits for a free instance of the pipe (ERROR_PIPE_BUSY) until ctx
// ends, or 5s without a deadline.
func dial(ctx context.Context, name string) (net.Conn, error) {
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

// dialPipe opens the pipe and checks that the server process is this
// user's before anything is sent (a squatter's pipe is refused).
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

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

func peerPID(c net.Conn) (int, error) {
	pc, ok := c.(*pipeConn)
	if !ok || pc.pid == 0 {
		return -1, fmt.Errorf("not a pipe connection the agent accepted: %T", c)
	}
	return pc.pid, nil
}
