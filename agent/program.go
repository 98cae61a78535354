package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Program is the process a request is attributed to, as the kernel names
// it: the peer of the connection, or, when the peer is kr itself (the
// CLI reading for someone), the program kr serves: the process that ran
// it (a shell for `kr get`, git or docker for the credential helpers), or
// the program `kr exec` is about to run, which kr names in its request.
type Program struct {
	Path string // its executable
	PID  int
	// RunBy, for a program kr exec runs, is the program that ran kr
	// exec: the dialog names both, so the user sees who starts it.
	RunBy string
	// id tells executables apart beyond their path: the file's identity
	// where the OS gives one, so a binary replaced at the same path is
	// another program and asks again.
	id string
}

// describe names the program for a person: its path, and for a program
// kr exec runs, what ran kr exec.
func (p Program) describe() string {
	if p.RunBy == "" {
		return p.Path
	}
	return fmt.Sprintf("%s (run by kr exec from %s)", p.Path, p.RunBy)
}

// maxKrHops bounds the walk up from kr to the program it serves (kr run
// by kr, say through a multi-call name).
const maxKrHops = 4

// programOf names the program behind pid, walking past kr's own
// executable (self) to the process that ran it; direct is pid's own.
func programOf(pid int, self string) (prog, direct Program, err error) {
	for hop := 0; ; hop++ {
		p, ppid, err := processInfo(pid)
		if err != nil {
			return Program{}, direct, err
		}
		if hop == 0 {
			direct = p
		}
		if self == "" || p.id != self {
			return p, direct, nil
		}
		if hop == maxKrHops || ppid <= 1 {
			return Program{}, direct, fmt.Errorf("kr process %d was not run by another program", pid)
		}
		pid = ppid
	}
}

// errNotKr: a peer that is not kr named a program to read for. Only kr
// speaks for another program; anyone else would be claiming to be one the
// user allowed.
var errNotKr = errors.New("only kr itself may name the program it reads for")

// claimed is the program kr exec names (path, resolved by kr from the
// PATH the program gets) for a read of direct's, which ran from runBy.
// The claim holds only from kr's own executable (self): kr is about to
// become that program (or run it as its child), so no process tree shows
// it yet. The file is looked at, never opened or run.
func claimed(path string, direct, runBy Program, self string) (Program, error) {
	if self == "" || direct.id != self {
		return Program{}, errNotKr
	}
	if !filepath.IsAbs(path) {
		return Program{}, fmt.Errorf("kr exec named %q, not an absolute path", path)
	}
	id, err := executableID(path)
	if err != nil {
		return Program{}, fmt.Errorf("the program kr exec runs: %w", err)
	}
	return Program{Path: filepath.Clean(path), PID: direct.PID, RunBy: runBy.Path, id: id}, nil
}

// selfID is the identity of this process's own executable: kr's.
func selfID() string {
	p, _, err := processInfo(os.Getpid())
	if err != nil {
		return ""
	}
	return p.id
}
