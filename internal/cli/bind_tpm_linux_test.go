package cli_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/tpmseal/swtpmtest"
)

// startSWTPM runs a software TPM 2.0 with its state in stateDir and
// returns its socket.
func startSWTPM(t *testing.T, stateDir string) string { return swtpmtest.Start(t, stateDir) }

// TestBindTPMSWTPM: a vault identity bound to a TPM (swtpm) reads with no
// passphrase; against a TPM with a fresh state (another machine, or a
// cleared TPM) the read fails with a clear error and the passphrase still
// opens the identity.
func TestBindTPMSWTPM(t *testing.T) {
	bin := helperBin(t, "kr")
	env := fileVaultEnv(t)
	state := t.TempDir()
	env["KR_TPM"] = "unix:" + startSWTPM(t, state)
	env["KR_PINENTRY"] = "never"
	run := func(pass string, stdin string, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "kr"), args...)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "KR_PASSPHRASE="+pass)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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
	if _, e, code := run("pw", "v1", "set", "db/pw"); code != 0 {
		t.Fatalf("set: %s", e)
	}
	if _, e, code := run("pw", "", "identity", "bind", "tpm"); code != 0 {
		t.Fatalf("bind tpm: %s", e)
	}
	if out, e, code := run("", "", "get", "db/pw"); code != 0 || out != "v1" || e != "" {
		t.Fatalf("bound get: exit %d, %q, %s", code, out, e)
	}

	// A TPM simulator that accepts and never answers: the binding gives up
	// at the command's --timeout, naming the TPM, instead of hanging, and
	// the passphrase still opens the identity.
	env["KR_TPM"] = "unix:" + silentListener(t)
	start := time.Now()
	_, e, code := run("", "", "--timeout", "2s", "get", "db/pw")
	if code != 4 || !strings.Contains(e, "kr: the tpm binding of the vault") || !strings.Contains(e, "the TPM did not answer in time") {
		t.Errorf("silent TPM: exit %d after %v: %s", code, time.Since(start), e)
	}
	if out, e, code := run("pw", "", "--timeout", "2s", "get", "db/pw"); code != 0 || out != "v1" {
		t.Errorf("silent TPM, passphrase: exit %d, %q, %s", code, out, e)
	}

	env["KR_TPM"] = "unix:" + startSWTPM(t, t.TempDir()) // a fresh state: another TPM
	_, e, code = run("", "", "get", "db/pw")
	if code != 4 || !strings.Contains(e, "kr: the tpm binding of the vault") ||
		!strings.Contains(e, "this TPM does not hold the key the secret was sealed with") {
		t.Errorf("fresh TPM, no passphrase: exit %d: %s", code, e)
	}
	if out, e, code := run("pw", "", "get", "db/pw"); code != 0 || out != "v1" {
		t.Errorf("fresh TPM, passphrase: exit %d, %q, %s", code, out, e)
	}
}

// TestBindTPMPINSWTPM: a TPM binding with a PIN opens with the PIN a
// pinentry gives; a wrong PIN is refused by the TPM with a clear error, and
// the passphrase still opens the identity.
func TestBindTPMPINSWTPM(t *testing.T) {
	bin := helperBin(t, "kr")
	env := fileVaultEnv(t)
	env["KR_TPM"] = "unix:" + startSWTPM(t, t.TempDir())
	dir := t.TempDir()
	pinFile := filepath.Join(dir, "pin")
	pinentry := filepath.Join(dir, "pinentry")
	if err := os.WriteFile(pinentry, []byte(`#!/bin/sh
echo OK
while read -r cmd rest; do
	case "$cmd" in
	GETPIN) echo "D $(cat "`+pinFile+`")"; echo OK ;;
	BYE) echo OK; exit 0 ;;
	*) echo OK ;;
	esac
done
`), 0o755); err != nil {
		t.Fatal(err)
	}
	env["KR_PINENTRY"] = pinentry
	env["DISPLAY"], env["WAYLAND_DISPLAY"] = "", ""
	delete(env, "KR_PASSPHRASE")
	run := func(pass, pin string, args ...string) (string, string, int) {
		t.Helper()
		if err := os.WriteFile(pinFile, []byte(pin), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bin, "kr"), args...)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if pass != "" {
			cmd.Env = append(cmd.Env, "KR_PASSPHRASE="+pass)
		}
		cmd.Stdin = strings.NewReader("v1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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
	if _, e, code := run("pw", "", "set", "db/pw"); code != 0 {
		t.Fatalf("set: %s", e)
	}
	if _, e, code := run("pw", "4711", "identity", "bind", "tpm", "--pin"); code != 0 {
		t.Fatalf("bind tpm --pin: %s", e)
	}
	if out, e, code := run("", "4711", "get", "db/pw"); code != 0 || out != "v1" {
		t.Fatalf("right PIN: exit %d, %q, %s", code, out, e)
	}
	if out, e, code := run("", "4712", "get", "db/pw"); code == 0 || out != "" || !strings.Contains(e, "the TPM refused the PIN") {
		t.Errorf("wrong PIN: exit %d, %q, %s", code, out, e)
	}
	if out, e, code := run("pw", "4712", "get", "db/pw"); code != 0 || out != "v1" {
		t.Errorf("wrong PIN, passphrase: exit %d, %q, %s", code, out, e)
	}
}

// silentListener is a unix socket that accepts and never answers, as a
// hung TPM simulator would.
func silentListener(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tpm.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or answered
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return sock
}
