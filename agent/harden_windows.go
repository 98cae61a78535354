//go:build windows

package agent

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Harden reports whether memory can be locked (VirtualLock, limited by the
// working-set quota). The named pipe's DACL keeps other users out.
func Harden() (lockedMemory bool, warning string) {
	page := make([]byte, 4096)
	addr := uintptr(unsafe.Pointer(&page[0]))
	if err := windows.VirtualLock(addr, uintptr(len(page))); err != nil {
		return false, fmt.Sprintf("cannot lock memory (%v); keys stay in ordinary memory", err)
	}
	windows.VirtualUnlock(addr, uintptr(len(page)))
	return true, ""
}

func lockMemory(b []byte) {
	if len(b) > 0 {
		windows.VirtualLock(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	}
}

func unlockMemory(b []byte) {
	if len(b) > 0 {
		windows.VirtualUnlock(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	}
}
