//go:build windows

package sshagent

import (
	"errors"
	"net"
	"strings"

	"github.com/kr-keyring/kr/ipc"
)

// OpenSSHPipe is where Windows' OpenSSH looks for its agent by default.
const OpenSSHPipe = `\\.\pipe\openssh-ssh-agent`

// Listen takes OpenSSH's pipe when it is free (Windows' own ssh-agent
// service not running), else the pipe KR_SSH_PIPE names, else
// \\.\pipe\kr-ssh-agent-<SID>; each owner-only, every client's user checked
// (ipc.Listen). A name in use is never shared: the next one is taken.
func Listen(agentPath string, getenv func(string) string) (net.Listener, string, error) {
	names := []string{OpenSSHPipe}
	if p := getenv("KR_SSH_PIPE"); p != "" {
		names = append(names, p)
	} else {
		names = append(names, strings.Replace(agentPath, `\kr-agent-`, `\kr-ssh-agent-`, 1))
	}
	var err error
	for _, name := range names {
		var l net.Listener
		if l, err = ipc.Listen(name); err == nil {
			return l, name, nil
		}
		if !errors.Is(err, ipc.ErrAgentRunning) {
			return nil, "", err
		}
	}
	return nil, "", err
}
