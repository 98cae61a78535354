package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// notLinked are modules and packages the kr binary does without: their
// initialisers would run at every kr start, and kr needs a small part of
// what they do. internal/sshwire speaks SSH's agent protocol and key
// formats (x/crypto/ssh parses Diffie-Hellman primes at init);
// internal/tpmseal speaks the few TPM 2.0 commands it sends; kr setup
// kube reads and writes the kubeconfig through kubectl, so no YAML
// library (go.yaml.in/yaml builds its resolver tables at init, and
// gopkg.in/yaml is the same code). Tests may import them, to check kr's
// own code against them.
var notLinked = []string{
	"golang.org/x/crypto/ssh",
	"github.com/google/go-tpm",
	"go.yaml.in/yaml",
	"gopkg.in/yaml.v2",
	"gopkg.in/yaml.v3",
	"sigs.k8s.io/yaml",
}

// TestNotLinked holds the binary, on every OS it is built for, to that.
func TestNotLinked(t *testing.T) {
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
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("GOOS=%s: go list -deps listed only %q", goos, deps)
		}
		for _, p := range deps {
			for _, m := range notLinked {
				if p == m || strings.HasPrefix(p, m+"/") {
					t.Errorf("GOOS=%s: kr links %s", goos, p)
				}
			}
		}
	}
}
