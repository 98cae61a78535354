package agent

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// processInfo opens pid (the handle keeps its id from being reused while
// we read), asks for its image path, and finds its parent in a snapshot
// of the process list.
func processInfo(pid int) (Program, int, error) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return Program{}, 0, fmt.Errorf("process %d: %w", pid, err)
	}
	path := windows.UTF16ToString(buf[:n])
	ppid := 0
	if snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0); err == nil {
		var e windows.ProcessEntry32
		e.Size = uint32(unsafe.Sizeof(e))
		for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
			if e.ProcessID == uint32(pid) {
				ppid = int(e.ParentProcessID)
				break
			}
		}
		windows.CloseHandle(snap)
	}
	return Program{Path: path, PID: pid, id: strings.ToLower(path)}, ppid, nil
}

// executableID is how processInfo names an executable here: its path,
// whose case Windows ignores.
func executableID(path string) (string, error) {
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return strings.ToLower(path), nil
}
