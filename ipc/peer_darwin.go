package ipc

import "golang.org/x/sys/unix"

// peerUIDOf asks the kernel who is on the other end (LOCAL_PEERCRED).
func peerUIDOf(fd int) (int, error) {
	cred, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}

// peerPIDOf: LOCAL_PEERPID names the process that connected.
func peerPIDOf(fd int) (int, error) {
	return unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
}
