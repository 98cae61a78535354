//go:build !windows

package tpmseal

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// silentTPM listens where a simulator's socket would be, accepts, reads
// whatever is sent and never answers; each command's first bytes are
// announced on got.
func silentTPM(t *testing.T) (addr string, got <-chan struct{}) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tpm.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() {
				b := make([]byte, 4096)
				for {
					if _, err := c.Read(b); err != nil {
						return
					}
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "unix:" + sock, ch
}

// TestSilentSimulatorDeadline: a simulator that accepts and never answers
// fails the command at the context's deadline, with an error that says the
// TPM did not answer in time, instead of hanging.
func TestSilentSimulatorDeadline(t *testing.T) {
	addr, _ := silentTPM(t)
	// A limit a loaded machine's dial meets; the silent TPM then runs it out.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	tpm, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	res := make(chan error, 1)
	go func() {
		_, err := Seal(tpm, []byte("a binding key"), nil)
		res <- err
	}()
	select {
	case err := <-res:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "the TPM did not answer in time") {
			t.Fatalf("Seal against a silent TPM: %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard only
		t.Fatal("Seal against a silent TPM did not return")
	}
}

// TestSilentSimulatorCancel: cancelling the context (Ctrl-C) ends a
// command the simulator never answers, with no deadline set.
func TestSilentSimulatorCancel(t *testing.T) {
	addr, got := silentTPM(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tpm, err := Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tpm.Close()
	res := make(chan error, 1)
	go func() {
		_, err := tpm.Send(make([]byte, headerSize))
		res <- err
	}()
	select {
	case <-got: // the command reached the simulator
	case <-time.After(30 * time.Second): // a hang guard only
		t.Fatal("the command never reached the simulator")
	}
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send after cancel: %v", err)
		}
	case <-time.After(30 * time.Second): // a hang guard only
		t.Fatal("Send did not return after cancel")
	}
}
