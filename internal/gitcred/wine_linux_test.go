//go:build linux

package gitcred

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
	"github.com/kr-keyring/kr/internal/winetest"
)

// wincredSource is git's contrib helper for Credential Manager, as Debian's
// git package ships it.
const wincredSource = "/usr/share/doc/git/contrib/credential/wincred/git-credential-wincred.c"

// winPath is p as a Windows program under wine sees it.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// TestWineCredentialManager runs TestCredentialManagerInterop under wine,
// in one wine session: kr.exe as git-credential-kr.exe and
// git-credential-wincred.exe cross-built from git's contrib sources store
// and read each other's credentials in the real (wine's) Credential
// Manager, with Git Credential Manager's targets.
func TestWineCredentialManager(t *testing.T) {
	e := winetest.Setup(t)
	if _, err := os.Stat(wincredSource); err != nil {
		testenv.Skipf(t, "no git contrib sources (Debian: git): %v", err)
	}
	dir := t.TempDir()
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	helper := filepath.Join(dir, "git-credential-kr.exe")
	if err := os.Rename(kr, helper); err != nil {
		t.Fatal(err)
	}
	// A copy, not the package's file: the build must not write next to it.
	src := filepath.Join(dir, "git-credential-wincred.c")
	b, err := os.ReadFile(wincredSource)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wincred := filepath.Join(dir, "git-credential-wincred.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", wincred, src).CombinedOutput(); err != nil {
		t.Fatalf("build git-credential-wincred: %v\n%s", err, out)
	}
	test := e.BuildTest(t, "github.com/kr-keyring/kr/internal/gitcred")
	e.RunTest(t, test, "-test.run", "^TestCredentialManagerInterop$",
		"-kr.helper", winPath(helper), "-kr.wincred", winPath(wincred))
}
