//go:build windows

package cli

import (
	"fmt"
	"os"
)

func openTerminal() (Terminal, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("%w: %v", errNoTerminal, err)
	}
	return &ttyTerminal{in: in, out: out}, nil
}
