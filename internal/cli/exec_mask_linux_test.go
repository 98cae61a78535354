package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestExecMaskParentNotReadable: under kr exec --mask the kr parent stays
// alive beside the program, holding the environment it was started with
// (KR_IDENTITY, KR_PASSPHRASE: unsetting them does not change
// /proc/PID/environ) and the values it masks. The program runs as the same
// user as kr, and that user must not read kr's environ or memory. Both run
// as uid 65534, because root reads any process.
func TestExecMaskParentNotReadable(t *testing.T) {
	testenv.Root(t)
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		testenv.Skipf(t, "needs %s: %v", python, err)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "kr-mask-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(base, "kr.test")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(base, "app.env")
	if err := os.WriteFile(envFile, []byte("APP_TOKEN=masked-value-4f1c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The program reports what it could read of its parent, without
	// printing any of it.
	const probe = `
import os
ppid = os.getppid()
for f in ("environ", "mem"):
    try:
        with open("/proc/%d/%s" % (ppid, f), "rb") as fh:
            if f == "environ":
                print("environ: read, identity %s" % (b"KR_IDENTITY=" in fh.read()))
            else:
                print("mem: opened")
    except OSError as e:
        print("%s: denied (%s)" % (f, e.__class__.__name__))
print("own environ owned by uid %d" % os.stat("/proc/self/environ").st_uid)
`
	run := func(mode string, args ...string) string {
		t.Helper()
		args = append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", exe}, args...)
		cmd := exec.Command(setpriv, args...)
		cmd.Dir = base
		cmd.Env = append(os.Environ(), "KR_TEST_RUN_AS_KR=1", "KR_NO_AGENT=1", "HOME="+base,
			"KR_CONFIG_DIR="+filepath.Join(base, "config"), "XDG_RUNTIME_DIR=",
			"KR_IDENTITY=AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
			"KR_PASSPHRASE=not-for-the-child")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kr %v: %v\nstdout: %s\nstderr: %s", args, err, stdout.String(), stderr.String())
		}
		t.Logf("%s: the program saw:\n%s", mode, stdout.String())
		return stdout.String()
	}
	out := run("--mask", "exec", "--mask", "--env-file", envFile, "--", python, "-c", probe)
	for _, want := range []string{"environ: denied", "mem: denied", "own environ owned by uid 65534"} {
		if !strings.Contains(out, want) {
			t.Errorf("--mask: want %q", want)
		}
	}
	// Replaced in place, the program is itself again: dumpable, its /proc
	// files its own (its parent here is setpriv's parent, this test).
	out = run("in place", "exec", "--env-file", envFile, "--", python, "-c", probe)
	if !strings.Contains(out, "own environ owned by uid 65534") {
		t.Errorf("in place: the program is not dumpable")
	}
}
