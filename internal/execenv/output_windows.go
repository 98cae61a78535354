//go:build windows

package execenv

import (
	"io"
	"os/exec"
	"time"
)

// outputs lets os/exec copy the output on Windows, where a pipe read that
// waits cannot be woken: WaitDelay bounds how long kr waits for the pipes
// to close after the child exited, for a background process that
// inherited them. What the child wrote and was not yet copied by then is
// lost, which only a consumer slower than that delay can cause.
type outputs struct{}

func attachOutputs(cmd *exec.Cmd, stdout, stderr io.Writer) (*outputs, error) {
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = 2 * time.Second
	return &outputs{}, nil
}

func (o *outputs) started() {}
func (o *outputs) abort()   {}
func (o *outputs) finish()  {}
