package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/cli"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/internal/testenv"
)

func TestMain(m *testing.M) {
	// Tests that need the kr binary itself re-execute this test binary.
	if os.Getenv("KR_TEST_RUN_AS_KR") == "1" {
		detachFromTerminal()
		stayOffDesktop()
		os.Exit(cli.MainWithScryptWorkFactor(testScryptWorkFactor()))
	}
	testscript.Main(m, map[string]func(){
		"kr": func() {
			detachFromTerminal()
			stayOffDesktop()
			os.Exit(cli.MainWithScryptWorkFactor(testScryptWorkFactor()))
		},
	})
}

// stayOffDesktop keeps kr, run by a test with no terminal, from opening a
// pinentry dialog on the desktop of whoever runs the tests: a test that
// wants a dialog names its pinentry in KR_PINENTRY.
func stayOffDesktop() {
	if os.Getenv("KR_PINENTRY") == "" {
		os.Setenv("KR_PINENTRY", "never")
	}
}

// testScryptWorkFactor is the scrypt work factor of the vaults and
// identities kr creates in these tests: 2^10, a thousandth of kr's own
// cost, unless a test of the KDF itself sets KR_TEST_REAL_SCRYPT=1. The
// variable is read here, by the test binary as kr; kr itself has no way to
// lower the cost.
func testScryptWorkFactor() int {
	if os.Getenv("KR_TEST_REAL_SCRYPT") == "1" {
		return 0
	}
	return 10
}

// TestScripts runs the end-to-end scripts in testdata/script: each runs the
// real kr binary in a fresh directory with a private vault, no agent, no
// session bus and no terminal unless the script asks for one.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup:               scriptSetup,
		Cmds:                scriptCmds,
		Condition: func(cond string) (bool, error) {
			if cond == "ci" {
				return testenv.InCI(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

func scriptSetup(e *testscript.Env) error {
	home := filepath.Join(e.WorkDir, "home")
	run := filepath.Join(e.WorkDir, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	e.Setenv("HOME", home)
	e.Setenv("USERPROFILE", home)
	e.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	e.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	e.Setenv("XDG_RUNTIME_DIR", run)
	e.Setenv("KR_VAULT", filepath.Join(e.WorkDir, "vault"))
	e.Setenv("KR_BACKEND", "file")
	e.Setenv("KR_NO_AGENT", "1")
	e.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(e.WorkDir, "no-bus"))
	return nil
}

// scriptConfigDir is the configuration directory kr uses in a script: its
// KR_CONFIG_DIR, else os.UserConfigDir's answer for the script's
// environment (which the test process does not have).
func scriptConfigDir(ts *testscript.TestScript) string {
	if d := ts.Getenv("KR_CONFIG_DIR"); d != "" {
		return ts.MkAbs(d)
	}
	switch runtime.GOOS {
	case "windows":
		return filepath.Join(ts.Getenv("AppData"), "kr")
	case "darwin":
		return filepath.Join(ts.Getenv("HOME"), "Library", "Application Support", "kr")
	}
	return filepath.Join(ts.Getenv("XDG_CONFIG_HOME"), "kr")
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// exits N PROG ARGS...: run PROG and require exit status N; stdout and
	// stderr are kept for the next stdout/stderr checks.
	"exits": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: exits N prog [args...]")
		}
		want, err := strconv.Atoi(args[0])
		if err != nil {
			ts.Fatalf("exits: %v", err)
		}
		got := 0
		if err := ts.Exec(args[1], args[2:]...); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				ts.Fatalf("exits: %v", err)
			}
			got = ee.ExitCode()
		}
		if got != want {
			ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
		}
	},
	// mkvault: create the vault at $KR_VAULT with $KR_PASSPHRASE and a low
	// scrypt cost, so that scripts which are not about creation run fast.
	// Like kr init, it records the vault's key as accepted in kr's config.
	"mkvault": func(ts *testscript.TestScript, neg bool, args []string) {
		rec := &recipients.Record{Path: filepath.Join(scriptConfigDir(ts), recipients.FileName)}
		v, err := filevault.Open(filevault.Options{Dir: ts.Getenv("KR_VAULT"), ScryptWorkFactor: 10, Accepted: rec})
		ts.Check(err)
		code, err := v.Init(context.Background(), []byte(ts.Getenv("KR_PASSPHRASE")))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs("recovery-code"), []byte(code+"\n"), 0o600))
	},
	// vaultkey FILE [WRAPPED]: write the vault's identity (unwrapped with
	// $KR_PASSPHRASE) to FILE in age's identity file format, as a CI job
	// would keep it.
	// With a second argument, that wrapped identity file is read instead
	// (a personal identity.age).
	"vaultkey": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 && len(args) != 2 {
			ts.Fatalf("usage: vaultkey file [identity.age]")
		}
		from := filepath.Join(ts.Getenv("KR_VAULT"), "identity.age")
		if len(args) == 2 {
			from = ts.MkAbs(args[1])
		}
		wrapped, err := os.ReadFile(from)
		ts.Check(err)
		sid, err := age.NewScryptIdentity(ts.Getenv("KR_PASSPHRASE"))
		ts.Check(err)
		r, err := age.Decrypt(bytes.NewReader(wrapped), sid)
		ts.Check(err)
		plain, err := io.ReadAll(r)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), plain, 0o600))
	},
	// newkey FILE: write a fresh age identity to FILE and its public key
	// to FILE.pub.
	"newkey": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: newkey file")
		}
		id, err := age.GenerateX25519Identity()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(id.String()+"\n"), 0o600))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub"), []byte(id.Recipient().String()+"\n"), 0o600))
	},
	// fingerprint VAR FILE: set VAR to the fingerprint of the age1 key in
	// FILE (a newkey .pub file), as kr shows it.
	"fingerprint": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: fingerprint VAR file")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		ts.Setenv(args[0], recipients.Fingerprint(strings.TrimSpace(string(b))))
	},
	// envfile VAR FILE: set VAR to FILE's content without its trailing newline.
	"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: envfile VAR file")
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		ts.Setenv(args[0], strings.TrimRight(string(b), "\n"))
	},
	// mkbytes FILE N: write N bytes of a repeating pattern.
	"mkbytes": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: mkbytes file n")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
	},
	// truncate FILE N: cut FILE to N bytes.
	"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: truncate file n")
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
	},
	// corrupt FILE: flip one bit in the middle of FILE.
	"corrupt": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: corrupt file")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		if len(b) == 0 {
			ts.Fatalf("corrupt: %s is empty", args[0])
		}
		b[len(b)/2] ^= 0x10
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o600))
	},
	// secretfile VAR NAME: print the path of NAME's file in the vault (as a
	// variable, SECRETFILE), for scripts that damage it.
	"secretfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: secretfile VAR name")
		}
		p := filepath.Join(ts.Getenv("KR_VAULT"), "secrets", args[1]+".age")
		if _, err := os.Stat(p); err != nil {
			ts.Fatalf("%v", fmt.Errorf("secret file for %s: %w", args[1], err))
		}
		ts.Setenv(args[0], p)
	},
}
