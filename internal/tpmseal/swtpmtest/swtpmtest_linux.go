// Package swtpmtest starts a software TPM 2.0 (swtpm) for tests, once for
// every package that needs one.
package swtpmtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// Start runs swtpm with its state in stateDir, serving the socket it
// returns (for KR_TPM=unix:PATH). The socket is bound here and handed to
// swtpm, so it accepts at once: nothing waits for the simulator to start.
func Start(t testing.TB, stateDir string) string {
	t.Helper()
	testenv.Tool(t, "swtpm", "swtpm")
	sock := filepath.Join(t.TempDir(), "tpm.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+stateDir,
		"--server", "type=unixio,fd=3", "--flags", "not-need-init,startup-clear")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return sock
}
