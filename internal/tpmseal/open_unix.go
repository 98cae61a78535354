//go:build !windows

package tpmseal

import (
	"errors"
	"runtime"
	"strings"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// Open opens the TPM dev names: "" for the system's (/dev/tpmrm0, the
// kernel's resource manager), a device path, or "unix:PATH" for a TPM
// simulator's socket (swtpm socket --server type=unixio).
func Open(dev string) (transport.TPMCloser, error) {
	if p, ok := strings.CutPrefix(dev, "unix:"); ok {
		return linuxudstpm.Open(p)
	}
	if runtime.GOOS != "linux" && dev == "" {
		return nil, errors.New("kr talks to a TPM on Linux and Windows only")
	}
	if dev == "" {
		dev = "/dev/tpmrm0"
	}
	return linuxtpm.Open(dev)
}
