//go:build unix

package agecrypto

import "golang.org/x/sys/unix"

// scratch returns n bytes for scrypt's table on pages mapped for it alone,
// outside the Go heap, and free, which wipes and unmaps them. The table is
// hundreds of megabytes: on the heap it stayed resident in the agent for
// minutes after every unlock, until the runtime gave it back.
func scratch(n int) (b []byte, free func()) {
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		b = make([]byte, n)
		return b, func() { clear(b) }
	}
	return m, func() {
		clear(m)
		unix.Munmap(m)
	}
}
