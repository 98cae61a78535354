package tpmseal

import (
	"errors"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/windowstpm"
)

// Open opens the system's TPM through TBS; dev must be "".
func Open(dev string) (transport.TPMCloser, error) {
	if dev != "" {
		return nil, errors.New("on Windows kr uses the system's TPM (TBS): unset KR_TPM")
	}
	return windowstpm.Open()
}
