//go:build unix

package limitio

import "syscall"

// openNonblock makes open(2) of a FIFO return at once instead of waiting
// for a writer; on a regular file it changes nothing.
const openNonblock = syscall.O_NONBLOCK
