package main

import (
	"os/exec"
	"strings"
	"testing"
)

// notLinked are modules kr does without: their packages' initialisers would
// run at every start, and kr needs only a small part of what they do
// (internal/tpmseal speaks the few TPM 2.0 commands it sends itself).
var notLinked = []string{
	"github.com/google/go-tpm",
}

func TestNotLinked(t *testing.T) {
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("GOOS=%s go list -deps listed only %q", goos, deps)
		}
		for _, pkg := range deps {
			for _, m := range notLinked {
				if pkg == m || strings.HasPrefix(pkg, m+"/") {
					t.Errorf("GOOS=%s: kr links %s", goos, pkg)
				}
			}
		}
	}
}
