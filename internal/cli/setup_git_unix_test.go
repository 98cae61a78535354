//go:build unix

package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// withSystemConfig points git's system configuration at a file of the
// test's holding content.
func (g *gitEnv) withSystemConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(g.dir, "system-gitconfig")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range g.env {
		if !strings.HasPrefix(kv, "GIT_CONFIG_NOSYSTEM=") {
			env = append(env, kv)
		}
	}
	g.env = append(env, "GIT_CONFIG_SYSTEM="+path)
	return path
}

func (g *gitEnv) global(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(g.dir, "gitconfig")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// approveStaysOutOfPlainText stores a credential through git and checks
// that kr has it and ~/.git-credentials was not written.
func (g *gitEnv) approveStaysOutOfPlainText(t *testing.T) {
	t.Helper()
	exe, _ := os.Executable()
	// The first write makes the vault (scrypt), slow on a busy machine.
	g.env = append(g.env, "KR_TIMEOUT=10m")
	g.ok(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	if b, err := os.ReadFile(filepath.Join(g.dir, ".git-credentials")); err == nil {
		t.Fatalf("git wrote the password in plain text to ~/.git-credentials: %q", b)
	}
	if names := g.ok(t, "", exe, "ls"); names != "git/https/example.org/alice\n" {
		t.Fatalf("kr ls after approve = %q", names)
	}
}

// TestSetupGitKeepsResetLine: the user's empty credential.helper, which
// turns off a store helper of the system configuration, stays: kr's line
// is added after it, and git credential approve writes no plain text.
func TestSetupGitKeepsResetLine(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	g.withSystemConfig(t, "[credential]\n\thelper = store\n")
	global := g.global(t, "[credential]\n\thelper =\n")
	if _, errOut, code := g.run(t, "", exe, "setup", "git", "--apply"); code != 0 {
		t.Fatalf("--apply: exit %d: %s", code, errOut)
	}
	g.approveStaysOutOfPlainText(t)
	if got := g.ok(t, "", "git", "config", "--file", global, "--get-all", "credential.helper"); got != "\nkr\n" {
		t.Fatalf("global credential.helper lines = %q, want the reset kept, then kr", got)
	}
}

// TestSetupGitSystemStore: a store helper of the system configuration
// is turned off by an empty line before kr's, and kr says so.
func TestSetupGitSystemStore(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	sys := g.withSystemConfig(t, "[credential]\n\thelper = store\n")
	out := g.ok(t, "", exe, "setup", "git")
	_, errOut, code := g.run(t, "", exe, "setup", "git", "--apply")
	if code != 0 {
		t.Fatalf("--apply: exit %d: %s", code, errOut)
	}
	g.approveStaysOutOfPlainText(t)
	if !strings.Contains(out, `# credential.helper "store" (system, `+sys+`) keeps passwords in plain text`) || !strings.Contains(out, "git config --global --add credential.helper \"\"\ngit config --global --add credential.helper kr\n") {
		t.Fatalf("kr setup git printed\n%s", out)
	}
	if !strings.Contains(errOut, `kr: turned off credential.helper "store" (system, `+sys+`), which keeps passwords in plain text`) {
		t.Fatalf("--apply did not say it turned store off: %s", errOut)
	}
	if _, errOut, _ := g.run(t, "", exe, "setup", "git", "--apply"); !strings.Contains(errOut, "already uses kr") {
		t.Fatalf("a second --apply said %q", errOut)
	}
}

// TestSetupGitIncludedStore: a store helper in a file the global
// configuration includes is seen and turned off; one included after the
// place kr's line goes is refused, and the configuration stays as it was.
func TestSetupGitIncludedStore(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	inc := filepath.Join(g.dir, "included")
	os.WriteFile(inc, []byte("[credential]\n\thelper = store\n"), 0o644)
	g.global(t, "[include]\n\tpath = "+inc+"\n")
	_, errOut, code := g.run(t, "", exe, "setup", "git", "--apply")
	if code != 0 {
		t.Fatalf("--apply: exit %d: %s", code, errOut)
	}
	g.approveStaysOutOfPlainText(t)
	if !strings.Contains(errOut, `turned off credential.helper "store" (global, `+inc+`)`) {
		t.Fatalf("--apply did not say it turned store off: %s", errOut)
	}

	g = newGitEnv(t)
	os.WriteFile(inc, []byte("[credential]\n\thelper = store\n"), 0o644)
	before := "[credential]\n\tuseHttpPath = false\n[include]\n\tpath = " + inc + "\n"
	global := g.global(t, before)
	_, errOut, code = g.run(t, "", exe, "setup", "git", "--apply")
	if code == 0 || !strings.Contains(errOut, `after kr's line git would still use credential.helper "store" (global, `+inc+`); nothing was changed`) {
		t.Fatalf("--apply with the store included after kr's line: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(global); string(b) != before {
		t.Fatalf("the refused change stayed:\n%s", b)
	}
}
