package agent

import (
	"fmt"
	"os"
)

// Program is the process a request is attributed to, as the kernel names
// it: the peer of the connection, or, when the peer is kr itself (the
// CLI reading for someone), the program kr serves: the process that ran
// it (a shell for `kr get`, git or docker for the credential helpers).
type Program struct {
	Path string // its executable
	PID  int
	// id tells executables apart beyond their path: the file's identity
	// where the OS gives one, so a binary replaced at the same path is
	// another program and asks again.
	id string
}

// maxKrHops bounds the walk up from kr to the program it serves (kr run
// by kr, say through a multi-call name).
const maxKrHops = 4

// programOf names the program behind pid, walking past kr's own
// executable (self) to the process that ran it.
func programOf(pid int, self string) (Program, error) {
	for hop := 0; ; hop++ {
		p, ppid, err := processInfo(pid)
		if err != nil {
			return Program{}, err
		}
		if self == "" || p.id != self {
			return p, nil
		}
		if hop == maxKrHops || ppid <= 1 {
			return Program{}, fmt.Errorf("kr process %d was not run by another program", pid)
		}
		pid = ppid
	}
}

// selfID is the identity of this process's own executable: kr's.
func selfID() string {
	p, _, err := processInfo(os.Getpid())
	if err != nil {
		return ""
	}
	return p.id
}
