//go:build windows

package agecrypto

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// scratch returns n bytes for scrypt's table on pages allocated for it
// alone, outside the Go heap, and free, which wipes and releases them: on
// the heap the table stayed in the agent's working set after every unlock.
func scratch(n int) (b []byte, free func()) {
	addr, err := windows.VirtualAlloc(0, uintptr(n), windows.MEM_COMMIT|windows.MEM_RESERVE, windows.PAGE_READWRITE)
	if err != nil {
		b = make([]byte, n)
		return b, func() { clear(b) }
	}
	// addr is memory the Go runtime does not manage; read it as a pointer
	// without the uintptr conversion vet (rightly, for Go memory) flags.
	b = unsafe.Slice(*(**byte)(unsafe.Pointer(&addr)), n)
	return b, func() {
		clear(b)
		windows.VirtualFree(addr, 0, windows.MEM_RELEASE)
	}
}
