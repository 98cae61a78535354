package agent

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// processInfo reads pid's executable path (kern.procargs2: the path exec
// was given) and parent (kern.proc.pid). macOS has no pidfd: the pid is
// read twice around the path, and a parent that changed is an error.
func processInfo(pid int) (Program, int, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	args, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil || len(args) < 5 {
		return Program{}, 0, fmt.Errorf("process %d: no arguments: %v", pid, err)
	}
	_ = binary.LittleEndian.Uint32(args) // argc
	path := args[4:]
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	again, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || again.Proc.P_starttime != kp.Proc.P_starttime {
		return Program{}, 0, fmt.Errorf("process %d exited", pid)
	}
	return Program{Path: string(path), PID: pid, id: string(path)}, int(kp.Eproc.Ppid), nil
}

// executableID is how processInfo names an executable here: its path.
func executableID(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return path, nil
}
