//go:build !unix && !windows

package agecrypto

// scratch returns n bytes for scrypt's table and free, which wipes them.
func scratch(n int) (b []byte, free func()) {
	b = make([]byte, n)
	return b, func() { clear(b) }
}
