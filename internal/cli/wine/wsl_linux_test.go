//go:build linux

package wine_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
	"github.com/kr-keyring/kr/internal/winetest"
)

// wincredSource is git's contrib helper for Credential Manager, as Debian's
// git package ships it.
const wincredSource = "/usr/share/doc/git/contrib/credential/wincred/git-credential-wincred.c"

// TestWSLBridge is kr inside WSL with kr.exe under wine as the Windows
// side (KR_WSL=1, KR_WSL_EXE a script that runs wine kr.exe): what Linux
// kr stores through the bridge, kr.exe and git-credential-wincred
// (cross-built from git's sources) read from Credential Manager, and what
// they store Linux kr reads, as secrets and as git credentials.
func TestWSLBridge(t *testing.T) {
	e := winetest.Setup(t)
	if _, err := os.Stat(wincredSource); err != nil {
		testenv.Skipf(t, "no git contrib sources (Debian: git): %v", err)
	}
	dir := t.TempDir()
	krExe := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	krLinux := filepath.Join(dir, "kr")
	if out, err := exec.Command("go", "build", "-o", krLinux, "github.com/kr-keyring/kr/cmd/kr").CombinedOutput(); err != nil {
		t.Fatalf("build kr: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "git-credential-wincred.c")
	if b, err := os.ReadFile(wincredSource); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(src, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wincred := filepath.Join(dir, "git-credential-wincred.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", wincred, src).CombinedOutput(); err != nil {
		t.Fatalf("build git-credential-wincred: %v\n%s", err, out)
	}
	// kr.exe as WSL would run it: a program on the Linux side's PATH.
	wrapper := filepath.Join(dir, "kr.exe")
	if err := os.WriteFile(wrapper, []byte(fmt.Sprintf("#!/bin/sh\nexec '%s' '%s' \"$@\"\n", e.Wine, krExe)), 0o700); err != nil {
		t.Fatal(err)
	}

	var rnd [6]byte
	rand.Read(rnd[:])
	id := hex.EncodeToString(rnd[:])
	svc := "kr-wsl-" + id
	host := "kr-wsl-" + id + ".example"

	// The first wine run takes the prefix for this test; the wrapper's
	// runs then share it.
	win := func(stdin []byte, exe string, args ...string) (string, string, int) {
		t.Helper()
		return wineKr(t, e, exe, stdin, args...)
	}
	if _, stderr, code := win(nil, krExe, "version"); code != 0 {
		t.Fatalf("kr.exe version: %s", stderr)
	}
	run := filepath.Join(dir, "run")
	os.Mkdir(run, 0o700)
	// kr starts kr.exe through wine itself, not through e.Command: hold
	// the shared prefix before anything runs in it.
	e.Hold()
	env := append(e.Environ(),
		"KR_WSL=1", "KR_WSL_EXE="+wrapper,
		"KR_CONFIG_DIR="+filepath.Join(dir, "config"),
		"KR_NO_AGENT=1", "KR_TIMEOUT=2m",
		// No Secret Service: auto must find Credential Manager.
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(run, "no-bus"), "XDG_RUNTIME_DIR="+run,
		"KR_SERVICE="+svc)
	linux := func(stdin []byte, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := e.Context(3 * time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, krLinux, args...)
		cmd.Env, cmd.Stdin = env, bytes.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("kr %v: %v", args, err)
		}
		return out.String(), errOut.String(), code
	}
	windows := []string{"--backend", "dpapi", "--service", svc}
	t.Cleanup(func() {
		for _, n := range []string{"wsl/a", "wsl/b", "wsl/big"} {
			wineKr(t, e, krExe, nil, append(windows, "rm", "-f", n)...)
		}
	})

	// Inside WSL with no Secret Service, auto chooses Credential Manager
	// through kr.exe and says so once.
	if _, stderr, code := linux([]byte("from-wsl"), "set", "wsl/a"); code != 0 ||
		!strings.Contains(stderr, "kr: using Windows' Credential Manager (through kr.exe) for service "+svc+" from now on (the Secret Service: ") {
		t.Fatalf("first set: exit %d: %s", code, stderr)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 250) // over the blob's limit: a DPAPI file on Windows
	if _, stderr, code := linux(big, "set", "wsl/big"); code != 0 || stderr != "" {
		t.Fatalf("second set: exit %d: %q", code, stderr)
	}
	if got, stderr, code := win(nil, krExe, append(windows, "get", "wsl/a")...); code != 0 || got != "from-wsl" {
		t.Fatalf("kr.exe get of kr's secret: %q, exit %d: %s", got, code, stderr)
	}
	if got, stderr, code := win(nil, krExe, append(windows, "get", "wsl/big")...); code != 0 || got != string(big) {
		t.Fatalf("kr.exe get of kr's large secret: %d bytes, exit %d: %s", len(got), code, stderr)
	}

	// The reverse: kr.exe stores, kr in WSL reads, lists and removes.
	v := []byte("from-windows\x00\xff")
	if _, stderr, code := win(v, krExe, append(windows, "set", "wsl/b")...); code != 0 {
		t.Fatalf("kr.exe set: %s", stderr)
	}
	if got, stderr, code := linux(nil, "get", "wsl/b"); code != 0 || got != string(v) {
		t.Fatalf("kr get of kr.exe's secret: %q, exit %d: %s", got, code, stderr)
	}
	if got, _, _ := linux(nil, "ls"); got != "wsl/a\nwsl/b\nwsl/big\n" {
		t.Fatalf("kr ls = %q", got)
	}
	if _, stderr, code := linux(nil, "rm", "-f", "wsl/a"); code != 0 {
		t.Fatalf("kr rm: %s", stderr)
	}
	if _, stderr, code := win(nil, krExe, append(windows, "get", "wsl/a")...); code != 3 {
		t.Fatalf("kr.exe get after kr rm: exit %d: %s", code, stderr)
	}
	if _, stderr, code := linux(nil, "get", "wsl/a"); code != 3 || !strings.Contains(stderr, "wsl/a") {
		t.Fatalf("kr get of a removed secret: exit %d: %s", code, stderr)
	}

	// Git: a login stored by git in WSL is Git for Windows' too.
	wc := func(action, req string) string {
		t.Helper()
		out, stderr, code := win([]byte(req), wincred, action)
		if code != 0 {
			t.Fatalf("git-credential-wincred %s: exit %d: %s", action, code, stderr)
		}
		return out
	}
	helper := func(action, req string) string {
		t.Helper()
		out, stderr, code := linux([]byte(req), "git-credential", action)
		if code != 0 {
			t.Fatalf("kr git-credential %s: exit %d: %s", action, code, stderr)
		}
		return out
	}
	t.Cleanup(func() {
		for _, h := range []string{host, host + ":8443", host + ":9443"} {
			wineKr(t, e, wincred, []byte("protocol=https\nhost="+h+"\n"), "erase")
		}
	})
	helper("store", "protocol=https\nhost="+host+"\nusername=alice\npassword=wsl-pw-é\n")
	if got := wc("get", "protocol=https\nhost="+host+"\n"); got != "username=alice\npassword=wsl-pw-é\n" {
		t.Fatalf("git-credential-wincred get of kr's login: %q", got)
	}
	if got, stderr, _ := win([]byte("protocol=https\nhost="+host+"\n"), krExe, "git-credential", "get"); got != "username=alice\npassword=wsl-pw-é\n" {
		t.Fatalf("kr.exe git-credential get of kr's login: %q: %s", got, stderr)
	}
	// git-credential-wincred's own layout (the user in the target), and
	// kr.exe's helper, read from WSL.
	wc("store", "protocol=https\nhost="+host+":8443\nusername=carol\npassword=wc-pw\n")
	if got := helper("get", "protocol=https\nhost="+host+":8443\n"); got != "username=carol\npassword=wc-pw\n" {
		t.Fatalf("kr git-credential get of git-credential-wincred's login: %q", got)
	}
	if _, stderr, code := win([]byte("protocol=https\nhost="+host+":9443\nusername=dan\npassword=exe-pw\n"), krExe, "git-credential", "store"); code != 0 {
		t.Fatalf("kr.exe git-credential store: %s", stderr)
	}
	if got := helper("get", "protocol=https\nhost="+host+":9443\n"); got != "username=dan\npassword=exe-pw\n" {
		t.Fatalf("kr git-credential get of kr.exe's login: %q", got)
	}
	// Erase from WSL removes it for Windows.
	helper("erase", "protocol=https\nhost="+host+":8443\n")
	if got := wc("get", "protocol=https\nhost="+host+":8443\n"); got != "" {
		t.Fatalf("git-credential-wincred still finds %q after kr's erase", got)
	}
}
