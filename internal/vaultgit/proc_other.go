//go:build !unix

package vaultgit

import "os/exec"

// cancelGently keeps exec's default on systems without signals: a
// cancelled ctx kills git.
func cancelGently(cmd *exec.Cmd, ownGroup bool) {}
