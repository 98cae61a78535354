//go:build unix

package vaultgit

import (
	"os/exec"
	"syscall"
)

// cancelGently makes a cancelled ctx stop git with SIGTERM, which lets it
// remove its lock files (a SIGKILL would leave index.lock behind and block
// the rebase --abort that follows); WaitDelay kills it if it lingers. With
// ownGroup the signal goes to git's whole process group.
func cancelGently(cmd *exec.Cmd, ownGroup bool) {
	if ownGroup {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	cmd.Cancel = func() error {
		if ownGroup {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		}
		return cmd.Process.Signal(syscall.SIGTERM)
	}
}
