//go:build unix

package wslbridge

import "syscall"

const syscallEPIPE = syscall.EPIPE
