package agent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// processInfo reads pid's executable and parent from /proc, holding the
// process by a pidfd meanwhile: if it exits while we read, its pid could
// name another process by the time we look, so an exit is an error.
func processInfo(pid int) (Program, int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(fd)
	} else if !errors.Is(err, unix.ENOSYS) {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	dir := "/proc/" + strconv.Itoa(pid)
	exe, err := os.Readlink(dir + "/exe")
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	id, err := executableID(dir + "/exe")
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	f := bytes.Fields(stat[i+1:])
	if i < 0 || len(f) < 2 {
		return Program{}, 0, fmt.Errorf("process %d: unreadable stat", pid)
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: unreadable stat", pid)
	}
	if fd >= 0 {
		if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
			return Program{}, 0, fmt.Errorf("process %d exited", pid)
		}
	}
	return Program{Path: exe, PID: pid, id: id}, ppid, nil
}

// executableID is the identity of the file at path: device, inode and
// change time, so a file replaced or rewritten there is another program.
func executableID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", errors.New("no file identity")
	}
	return fmt.Sprintf("%d:%d:%d", st.Dev, st.Ino, st.Ctim.Nano()), nil
}
