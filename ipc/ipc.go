// Package ipc is the agent's transport: Listen and Dial on a Unix socket in
// a private directory, or on Windows a named pipe only this user can open.
// Every accepted connection's peer is checked by the kernel's word before
// a byte is read, and the client checks the server before it sends one.
package ipc

import (
	"errors"
)

// ErrAgentRunning means a live agent already listens on the path.
var ErrAgentRunning = errors.New("an agent is already running")

// ErrPeer means the other end of a connection is not this user.
var ErrPeer = errors.New("peer is not this user")

// ErrNoAgent means nothing listens on the path: no socket, or a stale one.
var ErrNoAgent = errors.New("no agent is running")

// ErrUnsafeDir means the socket's directory is not this user's alone, so
// no agent of ours can be there and none may be started there.
var ErrUnsafeDir = errors.New("unsafe agent directory")
