//go:build !windows

package cli

import (
	"fmt"
	"os"
)

func openTerminal() (Terminal, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return &ttyTerminal{in: f, out: f}, nil
}
