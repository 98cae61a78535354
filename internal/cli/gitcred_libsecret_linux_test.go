package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// buildLibsecretHelper builds git-credential-libsecret from Debian's git
// contrib sources in a temporary copy: the helper kr shares items with.
func buildLibsecretHelper(t *testing.T) string {
	t.Helper()
	src := "/usr/share/doc/git/contrib/credential/libsecret"
	if _, err := os.Stat(filepath.Join(src, "git-credential-libsecret.c")); err != nil {
		testenv.Skipf(t, "git's contrib sources are missing: %v", err)
	}
	testenv.Tool(t, "make", "make")
	testenv.Tool(t, "cc", "gcc")
	testenv.Tool(t, "pkg-config", "pkg-config")
	if err := exec.Command("pkg-config", "--exists", "libsecret-1").Run(); err != nil {
		testenv.Skip(t, "libsecret-1 is missing (Debian: libsecret-1-dev)")
	}
	dir := t.TempDir()
	for _, f := range []string{"Makefile", "git-credential-libsecret.c"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("make")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make git-credential-libsecret: %v\n%s", err, out)
	}
	return filepath.Join(dir, "git-credential-libsecret")
}

// TestGitCredentialLibsecretInterop: on a real gnome-keyring, what
// git-credential-kr stores, Debian's git-credential-libsecret reads, and
// the other way round, through git itself; kr never answers for another
// port, though the keyring's search would; kr reads the org.git.Password
// items newer helpers write, which Debian's helper does not (why kr
// writes the NetworkPassword schema); kr's erase removes the helper's
// item.
func TestGitCredentialLibsecretInterop(t *testing.T) {
	testenv.Tool(t, "git", "git")
	libsecret := buildLibsecretHelper(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for name, target := range map[string]string{"git-credential-kr": exe, "git-credential-libsecret": libsecret} {
		if err := os.Symlink(target, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	script := `
export KR_TEST_RUN_AS_KR=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL="$HOME/gitconfig"
fill() { # helper, host: git credential fill with only that helper
	printf 'protocol=https\nhost=%s\n\n' "$2" | git -c credential.helper= -c credential.helper="$1" credential fill 2>/dev/null || echo "fill failed"
}
approve() { # helper, host, user, password
	printf 'protocol=https\nhost=%s\nusername=%s\npassword=%s\n\n' "$2" "$3" "$4" | git -c credential.helper= -c credential.helper="$1" credential approve
}
approve kr kr.example.org kruser kr-pw
echo "libsecret reads kr's: $(fill libsecret kr.example.org | tr '\n' ' ')"
approve libsecret ls.example.org lsuser ls-pw
echo "kr reads libsecret's: $(fill kr ls.example.org | tr '\n' ' ')"
approve libsecret port.example.org:8443 portuser port-pw
echo "kr, other port: $(fill kr port.example.org | tr '\n' ' ')"
echo "kr, same port: $(fill kr port.example.org:8443 | tr '\n' ' ')"
echo "libsecret, other port: $(fill libsecret port.example.org | tr '\n' ' ')"
approve kr krport.example.org:8443 krportuser krport-pw
echo "libsecret reads kr's port item: $(fill libsecret krport.example.org:8443 | tr '\n' ' ')"
printf 'new-pw' | secret-tool store --label='Git: https://new.example.org/' xdg:schema org.git.Password protocol https server new.example.org user newuser
echo "kr reads org.git.Password: $(fill kr new.example.org | tr '\n' ' ')"
echo "libsecret reads org.git.Password: $(fill libsecret new.example.org | tr '\n' ' ')"
printf 'protocol=https\nhost=ls.example.org\nusername=lsuser\npassword=ls-pw\n\n' | git -c credential.helper= -c credential.helper=kr credential reject
echo "after kr's reject: $(secret-tool search --all protocol https server ls.example.org 2>&1 | grep -c '^secret = ' || true) items"
echo "kr item: $(secret-tool search --all server kr.example.org 2>&1 | grep -E '^(label|schema|attribute\.(port|user|protocol|server)) = ' | sort | tr '\n' ' ')"
`
	out := runInKeyringSession(t, script, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, want := range []string{
		"libsecret reads kr's: protocol=https host=kr.example.org username=kruser password=kr-pw \n",
		"kr reads libsecret's: protocol=https host=ls.example.org username=lsuser password=ls-pw \n",
		"kr, other port: fill failed \n",
		"kr, same port: protocol=https host=port.example.org:8443 username=portuser password=port-pw \n",
		"kr reads org.git.Password: protocol=https host=new.example.org username=newuser password=new-pw \n",
		"libsecret reads org.git.Password: fill failed \n",
		"libsecret reads kr's port item: protocol=https host=krport.example.org:8443 username=krportuser password=krport-pw \n",
		"after kr's reject: 0 items\n",
		"kr item: attribute.protocol = https attribute.server = kr.example.org attribute.user = kruser label = Git: https://kr.example.org/ schema = org.gnome.keyring.NetworkPassword \n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Debian's helper answers the portless request with the item for port
	// 8443 (its search has no port); logged, not asserted: it is the
	// behaviour kr must not copy.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "libsecret, other port:") {
			t.Logf("Debian's git-credential-libsecret: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}
