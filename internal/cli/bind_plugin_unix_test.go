//go:build unix

package cli_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// TestBindPluginAgent: a vault identity bound to an age plugin (a test
// plugin built on filippo.io/age/plugin) opens with no passphrase and no
// terminal: the first read asks the plugin once and unlocks the agent,
// which serves the reads after it without the plugin. The passphrase
// still opens the identity when the plugin is gone.
func TestBindPluginAgent(t *testing.T) {
	bin := helperBin(t, "kr")
	plugDir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(plugDir, "age-plugin-krtest"), "github.com/kr-keyring/kr/internal/cli/internal/testageplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the test plugin: %v\n%s", err, out)
	}
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	env := fileVaultEnv(t)
	home := env["HOME"]
	idFile := filepath.Join(home, "plugin-identity.txt")
	if err := os.WriteFile(idFile, []byte("# a test token\n"+plugin.EncodeIdentity("krtest", []byte(x.String()))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(home, "plugin.log")
	delete(env, "KR_NO_AGENT")
	env["PATH"] = plugDir + string(os.PathListSeparator) + os.Getenv("PATH")
	env["KRTEST_PLUGIN_LOG"] = log
	env["KR_PINENTRY"] = "never"
	run := func(extra map[string]string, stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "kr"), args...)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		for k, v := range extra {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdin = strings.NewReader(stdin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	noAgent := map[string]string{"KR_NO_AGENT": "1"}
	if _, e, code := run(noAgent, "v1", "set", "db/pw"); code != 0 {
		t.Fatalf("set: %s", e)
	}
	if _, e, code := run(noAgent, "", "identity", "bind", "plugin", idFile); code != 0 || !strings.Contains(e, "to the age plugin age-plugin-krtest") {
		t.Fatalf("bind plugin: exit %d: %s", code, e)
	}
	if b, _ := os.ReadFile(log); bytes.Contains(b, []byte("passphrase variable")) {
		t.Fatalf("the plugin was started with a passphrase of kr's in its environment:\n%s", b)
	}
	os.Remove(log)
	t.Cleanup(func() { run(nil, "", "agent", "stop") })
	unset := map[string]string{"KR_PASSPHRASE": ""}
	for i := range 3 {
		out, e, code := run(unset, "", "get", "db/pw")
		if code != 0 || out != "v1" {
			t.Fatalf("get %d: exit %d, %q, %s", i, code, out, e)
		}
	}
	b, _ := os.ReadFile(log)
	if got := strings.Count(string(b), "--age-plugin=identity-v1"); got != 1 {
		t.Errorf("the plugin was asked %d times for three reads, want once (log %q)", got, b)
	}
	if out, _, _ := run(nil, "", "agent", "status"); !strings.Contains(out, "unlocked: age1") {
		t.Errorf("agent status names no unlocked vault:\n%s", out)
	}
	if out, _, _ := run(nil, "", "identity", "status"); !strings.Contains(out, "plugin (the age plugin age-plugin-krtest)") || !strings.Contains(out, "last unlock  plugin") {
		t.Errorf("identity status:\n%s", out)
	}

	// Without the plugin on PATH and no agent, the read says so and the
	// passphrase still opens the identity.
	env["PATH"] = os.Getenv("PATH")
	if _, e, code := run(map[string]string{"KR_NO_AGENT": "1", "KR_PASSPHRASE": ""}, "", "get", "db/pw"); code != 4 || !strings.Contains(e, "age-plugin-krtest is not on PATH") {
		t.Errorf("no plugin, no passphrase: exit %d: %s", code, e)
	}
	if out, e, code := run(noAgent, "", "get", "db/pw"); code != 0 || out != "v1" {
		t.Errorf("no plugin, passphrase: exit %d, %q, %s", code, out, e)
	}
}
