package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// parentProgram names the process that ran kr, from the kernel's process
// table (its command name, at most 16 bytes).
func parentProgram() (string, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", os.Getppid())
	if err != nil {
		return "", false
	}
	name := unix.ByteSliceToString(kp.Proc.P_comm[:])
	return name, name != ""
}
