package cli_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHelpersLockedNoTerminal: with the file vault locked (no agent, no
// passphrase variable) and no controlling terminal, as under CI or a
// daemon, each helper fails at once with the reason on stderr (for docker:
// on stdout, where docker reads it) and a non-zero exit; the AWS helper
// prints nothing at all on stdout.
func TestHelpersLockedNoTerminal(t *testing.T) {
	bin := helperBin(t, "kr", "docker-credential-kr")
	env := fileVaultEnv(t)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	run := func(stdin string, name string, args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	for name, v := range map[string]string{"aws/p/access-key-id": "AKID", "aws/p/secret-access-key": "hunter2"} {
		if _, e, code := run(v, "kr", "set", name); code != 0 {
			t.Fatalf("kr set: %s", e)
		}
	}
	if _, e, code := run(`{"ServerURL":"r","Username":"u","Secret":"hunter2"}`, "docker-credential-kr", "store"); code != 0 {
		t.Fatalf("docker store (needs no passphrase): %s", e)
	}
	delete(env, "KR_PASSPHRASE")
	environ = environ[:0]
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}

	out, errOut, code := run("", "kr", "aws-credentials", "aws/p")
	if code != 4 || out != "" || !strings.Contains(errOut, "kr: error: get aws/p/access-key-id: store is locked: the vault needs its passphrase and there is no terminal") {
		t.Errorf("aws-credentials, locked: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = run("r", "docker-credential-kr", "get")
	if code != 4 || !strings.Contains(out, "store is locked") || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "kr: hint: ") {
		t.Errorf("docker get, locked: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "hunter2") {
		t.Errorf("a secret was printed")
	}
}
