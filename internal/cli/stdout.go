package cli

import (
	"fmt"
	"io"
)

// stdoutWriter names stdout in write errors. A command whose output could
// not be written has failed: `kr ls >/dev/full` exiting 0 would tell a
// script it got the whole list.
type stdoutWriter struct{ w io.Writer }

func (s stdoutWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = fmt.Errorf("write stdout: %w", err)
	}
	return n, err
}

// stdout is where a command's result goes; every error from it must be
// returned.
func (a *App) stdout() io.Writer { return stdoutWriter{a.IO.Out} }
