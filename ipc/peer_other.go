//go:build !linux && !darwin && !windows

package ipc

import "errors"

var errNoPeerCred = errors.New("peer credentials are not supported on this system")

// peerUIDOf: no peer credentials here, so no connection is trusted.
func peerUIDOf(fd int) (int, error) { return -1, errNoPeerCred }

func peerPIDOf(fd int) (int, error) { return -1, errNoPeerCred }
