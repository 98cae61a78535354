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

// secureAlloc returns n bytes on pages of their own, outside the Go heap,
// locked in the working set when lock is set: buffers that share a page
// with nothing else, so unlocking one never unlocks another's page. free
// wipes and releases them.
func secureAlloc(n int, lock bool) (b []byte, free func()) {
	if n == 0 {
		return []byte{}, func() {}
	}
	addr, err := windows.VirtualAlloc(0, uintptr(n), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil {
		b = make([]byte, n)
		return b, func() { clear(b) }
	}
	// addr is memory the Go runtime does not manage; read it as a pointer
	// without the uintptr conversion vet (rightly, for Go memory) flags.
	b = unsafe.Slice(*(**byte)(unsafe.Pointer(&addr)), n)
	if lock {
		windows.VirtualLock(addr, uintptr(n)) // refused only past the working-set quota, which Harden probed
	}
	return b, func() {
		clear(b)
		if lock {
			windows.VirtualUnlock(addr, uintptr(n))
		}
		windows.VirtualFree(addr, 0, windows.MEM_RELEASE)
	}
}
