package sshagent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// Confirmer asks the user whether a key may be used. It is an interface
// so that the agent's one pinentry client can take its place.
type Confirmer interface {
	Confirm(ctx context.Context, description string) (bool, error)
}

// Pinentry asks through a pinentry program's CONFIRM. Program comes from
// the agent's own configuration (KR_PINENTRY in its environment), never
// from a client: a client naming a program would have the agent run it.
type Pinentry struct {
	Program string
	mu      sync.Mutex // one dialog at a time
}

// errCanceled is pinentry's answer to "no" (GPG_ERR_CANCELED from pinentry).
const errCanceled = "83886179"

// Confirm runs the program, asks, and reports the answer; a dialog
// dismissed or closed is false.
func (p *Pinentry) Confirm(ctx context.Context, description string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Program == "" {
		return false, errors.New("no pinentry configured")
	}
	cmd := exec.CommandContext(ctx, p.Program)
	in, err := cmd.StdinPipe()
	if err != nil {
		return false, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return false, err
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("pinentry: %w", err)
	}
	defer cmd.Wait()
	defer in.Close()
	r := bufio.NewReader(io.LimitReader(out, 1<<20))
	answer := func() (string, error) {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return "", fmt.Errorf("pinentry: %w", err)
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "OK" || strings.HasPrefix(line, "OK ") || strings.HasPrefix(line, "ERR ") {
				return line, nil
			}
			// Comments, status and data lines are not answers.
		}
	}
	if l, err := answer(); err != nil || !strings.HasPrefix(l, "OK") {
		return false, fmt.Errorf("pinentry did not greet: %v", err)
	}
	for _, c := range []string{"SETTITLE kr agent", "SETDESC " + escape(description)} {
		if _, err := fmt.Fprintf(in, "%s\n", c); err != nil {
			return false, err
		}
		if l, err := answer(); err != nil || !strings.HasPrefix(l, "OK") {
			return false, fmt.Errorf("pinentry refused %s", strings.Fields(c)[0])
		}
	}
	if _, err := fmt.Fprintf(in, "CONFIRM\n"); err != nil {
		return false, err
	}
	l, err := answer()
	if err != nil {
		return false, err
	}
	fmt.Fprintf(in, "BYE\n")
	if strings.HasPrefix(l, "OK") {
		return true, nil
	}
	if f := strings.Fields(l); len(f) > 1 && f[1] == errCanceled {
		return false, nil
	}
	return false, fmt.Errorf("pinentry: %s", l)
}

// escape percent-encodes what Assuan's line syntax reserves.
func escape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
