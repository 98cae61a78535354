//go:build !unix

package limitio

// Windows has no FIFOs in the file system: a plain open cannot block.
const openNonblock = 0
