//go:build linux

package dockercred

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/winetest"
)

// TestWineCredentialManager runs TestDockerHelperCredentialManager under
// wine, in one wine session: kr.exe as docker-credential-kr.exe on the
// real (wine's) Credential Manager.
func TestWineCredentialManager(t *testing.T) {
	e := winetest.Setup(t)
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	helper := filepath.Join(t.TempDir(), "docker-credential-kr.exe")
	if err := os.Rename(kr, helper); err != nil {
		t.Fatal(err)
	}
	test := e.BuildTest(t, "github.com/kr-keyring/kr/internal/dockercred")
	e.RunTest(t, test, "-test.run", "^TestDockerHelperCredentialManager$",
		"-kr.helper", `Z:`+strings.ReplaceAll(helper, "/", `\`))
}
