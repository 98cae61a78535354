// Package ipc is the agent's transport: Listen and Dial on a Unix socket in
// a private directory, or on Windows a named pipe only this user can open.
// Every accepted connection's peer is checked by the kernel's word before
// a byte is read, and the client checks the server before it sends one.
package ipc

import (
	"context"
	"errors"
	"net"
)

// The per-OS halves implement defaultPath, ensureDir, listen and dial:
// ipc_unix.go on a Unix socket, ipc_windows.go and pipe_*_windows.go on a
// named pipe.

// DefaultPath is where this user's agent listens: on Unix
// $XDG_RUNTIME_DIR/kr/agent.sock, else agent.sock in a per-uid directory
// under the temp dir (kr-UID); on Windows the named pipe
// \\.\pipe\kr-agent-<user SID>. getenv is os.Getenv, or a test's.
func DefaultPath(getenv func(string) string) (string, error) { return defaultPath(getenv) }

// EnsureDir creates the socket's directory dir if need be (0700, parents
// 0755) and checks it as GnuPG does: a real directory, not a symlink, this
// user's, with no group or other permissions; else ErrUnsafeDir. A
// directory someone else made first is refused. Listen calls it; the CLI
// calls it before taking its start lock in the same directory. On Windows
// it does nothing: a pipe lives in no directory.
func EnsureDir(dir string) error { return ensureDir(dir) }

// Listen listens on path, and hands out only connections from processes
// of this user: others are closed before a byte is read.
//
// On Unix the socket's directory goes through EnsureDir. A socket at path
// that answers means another agent: ErrAgentRunning; one that does not is
// stale and is replaced, under a lock (path + ".lock") held for the
// listener's life, so that agents starting at once cannot both replace it.
// Close removes the socket if it is still this listener's.
//
// On Windows it creates the first instance of the pipe, owner-only (its
// DACL admits this user alone) and local only; a name already in use, by
// an agent or a squatter, is ErrAgentRunning.
func Listen(path string) (net.Listener, error) { return listen(path) }

// Dial connects to the agent at path and checks, before anything is sent,
// that the process serving it is this user's (else ErrPeer); on Unix the
// socket's directory must pass EnsureDir's check first (else
// ErrUnsafeDir). Nothing listening, or a stale socket, is ErrNoAgent. An
// agent too busy to accept is waited for until ctx ends (on Windows, 5s
// when ctx has no deadline).
func Dial(ctx context.Context, path string) (net.Conn, error) { return dial(ctx, path) }

// ErrAgentRunning means a live agent already listens on the path.
var ErrAgentRunning = errors.New("an agent is already running")

// ErrPeer means the other end of a connection is not this user.
var ErrPeer = errors.New("peer is not this user")

// ErrNoAgent means nothing listens on the path: no socket, or a stale one.
var ErrNoAgent = errors.New("no agent is running")

// ErrUnsafeDir means the socket's directory is not this user's alone, so
// no agent of ours can be there and none may be started there.
var ErrUnsafeDir = errors.New("unsafe agent directory")

// PeerPID is the process on the other end of a connection Listen
// accepted, as the kernel named it when the connection was made
// (SO_PEERCRED on Linux, LOCAL_PEERPID on macOS, the pipe client's
// process id on Windows). The process may have exited since, and its id
// been reused: callers that name a program by it check it still runs.
func PeerPID(c net.Conn) (int, error) { return peerPID(c) }
