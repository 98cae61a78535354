package pinentry

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the pinentry when the process that
// started it dies: an agent stopped with SIGKILL (or crashing) must not
// leave a dialog behind, drawing on a terminal nobody reads.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
