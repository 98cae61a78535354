package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestNoSSHLibrary: the kr binary speaks SSH's agent protocol and key
// formats through internal/sshwire, never golang.org/x/crypto/ssh, whose
// package init parses Diffie-Hellman primes for key exchange at every kr
// start. Tests may import it (they do, to check sshwire against it); the
// binary, on every OS it is built for, may not.
func TestNoSSHLibrary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Skip(t, "no go command to list the binary's packages")
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v", goos, err)
		}
		for _, p := range strings.Fields(string(out)) {
			if p == "golang.org/x/crypto/ssh" || strings.HasPrefix(p, "golang.org/x/crypto/ssh/") {
				t.Errorf("GOOS=%s: kr links %s", goos, p)
			}
		}
	}
}
