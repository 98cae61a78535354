//go:build !windows

package execenv

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMaskDoesNotWaitForGrandchildren: a background process the child
// started keeps its stdout open, but kr returns when the child exits, with
// everything the child wrote shown, masked.
func TestMaskDoesNotWaitForGrandchildren(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type result struct {
		st  Status
		err error
	}
	done := make(chan result, 1)
	script := `sleep 30 & echo "$!"; i=0; while [ $i -lt 2000 ]; do echo "line $i top-secret-9"; i=$((i+1)); done; printf "tail top-sec"; echo done >&2`
	go func() {
		st, err := Run(Options{
			Path: "/bin/sh", Args: []string{"sh", "-c", script}, Env: os.Environ(),
			Stdout: &out, Stderr: &errOut, Secrets: [][]byte{[]byte("top-secret-9")}, Mask: true,
		})
		done <- result{st, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("Run waited for the background grandchild holding stdout")
	}
	first, _, _ := strings.Cut(out.String(), "\n")
	if pid, err := strconv.Atoi(first); err == nil {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if r.err != nil || r.st.Code != 0 {
		t.Fatalf("Run: %+v, %v", r.st, r.err)
	}
	if errOut.String() != "done\n" {
		t.Errorf("stderr %q, want \"done\\n\"", errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if len(lines) != 2002 {
		t.Fatalf("got %d lines of output, want 2002 (all the child wrote)", len(lines))
	}
	for i, l := range lines[1:2001] {
		if want := "line " + strconv.Itoa(i) + " " + Concealed; l != want {
			t.Fatalf("line %d: %q, want %q", i, l, want)
		}
	}
	if last := lines[2001]; last != "tail "+Concealed {
		t.Errorf("held-back tail: %q, want %q", last, "tail "+Concealed)
	}
}
