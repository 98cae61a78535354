//go:build !unix

package wslbridge

import "errors"

// syscallEPIPE matches no error where there is no EPIPE.
var syscallEPIPE = errors.New("no EPIPE here")
