package cli

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// parentProgram names the process that ran kr, from a snapshot of the
// process list (its executable's file name).
func parentProgram() (string, bool) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return "", false
	}
	defer windows.CloseHandle(snap)
	ppid := uint32(os.Getppid())
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if e.ProcessID == ppid {
			name := windows.UTF16ToString(e.ExeFile[:])
			return name, name != ""
		}
	}
	return "", false
}
