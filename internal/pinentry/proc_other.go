//go:build !linux

package pinentry

import "os/exec"

// dieWithParent: only Linux lets a child ask to die with its parent; on
// other systems the pinentry ends when its stdin closes or it is killed.
func dieWithParent(*exec.Cmd) {}
