//go:build !windows

package sshagent

import (
	"net"
	"path/filepath"

	"github.com/kr-keyring/kr/ipc"
)

// Listen listens for OpenSSH's clients at ssh.sock beside the agent's
// socket: the same directory, checked the same way, and the same kernel
// check of every peer (ipc.Listen).
func Listen(agentPath string, getenv func(string) string) (net.Listener, string, error) {
	path := filepath.Join(filepath.Dir(agentPath), "ssh.sock")
	l, err := ipc.Listen(path)
	return l, path, err
}
