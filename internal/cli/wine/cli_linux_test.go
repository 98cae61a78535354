//go:build linux

package wine_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/winetest"
)

// wineKr runs kr.exe under wine; it returns stdout, stderr and the exit code.
func wineKr(t *testing.T, e *winetest.Env, exe string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := e.Context(2 * time.Minute)
	defer cancel()
	cmd := e.Command(ctx, exe, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// TestWindowsCLI runs kr.exe under wine on the real Credential Manager:
// set, get, ls and rm of a 10-byte, a 4,000-byte and a 1 MiB value; interop
// with zalando/go-keyring both ways; and kr exec injecting a variable into
// a Windows child and passing its exit code.
func TestWindowsCLI(t *testing.T) {
	e := winetest.Setup(t)
	kr := e.Build(t, "github.com/kr-keyring/kr/cmd/kr")
	probe := e.Build(t, "github.com/kr-keyring/kr/backends/dpapi/internal/gokeyringprobe")
	var rnd [6]byte
	rand.Read(rnd[:])
	svc := "kr-wine-" + hex.EncodeToString(rnd[:])
	base := []string{"--backend", "dpapi", "--service", svc}

	for _, size := range []int{10, 4000, 1 << 20} {
		v := make([]byte, size)
		rand.Read(v)
		name := "size/" + strings.Repeat("x", 1+size%7)
		if _, stderr, code := wineKr(t, e, kr, v, append(base, "set", name)...); code != 0 {
			t.Fatalf("set %d bytes: exit %d: %s", size, code, stderr)
		}
		got, stderr, code := wineKr(t, e, kr, nil, append(base, "get", name)...)
		if code != 0 || got != string(v) {
			t.Fatalf("get %d bytes: exit %d, %d bytes back: %s", size, code, len(got), stderr)
		}
		ls, _, _ := wineKr(t, e, kr, nil, append(base, "ls")...)
		if ls != name+"\n" {
			t.Fatalf("ls = %q, want %q", ls, name)
		}
		if _, stderr, code := wineKr(t, e, kr, nil, append(base, "rm", name)...); code != 0 {
			t.Fatalf("rm: exit %d: %s", code, stderr)
		}
		if _, stderr, code := wineKr(t, e, kr, nil, append(base, "get", name)...); code != 3 || !strings.Contains(stderr, "secret not found: "+name) {
			t.Fatalf("get after rm: exit %d, %q", code, stderr)
		}
	}

	// go-keyring -> kr, kr -> go-keyring.
	if _, stderr, code := wineKr(t, e, probe, []byte("set by go-keyring"), "set", svc, "gk/item"); code != 0 {
		t.Fatalf("go-keyring set: %s", stderr)
	}
	if got, stderr, code := wineKr(t, e, kr, nil, append(base, "get", "gk/item")...); code != 0 || got != "set by go-keyring" {
		t.Fatalf("kr get of go-keyring's item: %q, %s", got, stderr)
	}
	wineKr(t, e, kr, []byte("set by kr"), append(base, "set", "kr/item")...)
	if got, stderr, code := wineKr(t, e, probe, nil, "get", svc, "kr/item"); code != 0 || got != "set by kr" {
		t.Fatalf("go-keyring get of kr's item: %q, %s", got, stderr)
	}

	// kr exec: the variable reaches a Windows child; its exit code is kr's.
	out, stderr, code := wineKr(t, e, kr, nil, append(base, "exec", "-e", "KR_WINE_VAR=kr/item", "--", "cmd", "/c", "echo [%KR_WINE_VAR%]")...)
	if code != 0 || !strings.Contains(out, "[set by kr]") {
		t.Fatalf("exec: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	if _, _, code := wineKr(t, e, kr, nil, append(base, "exec", "--", "cmd", "/c", "exit 42")...); code != 42 {
		t.Fatalf("exec exit code: %d, want 42", code)
	}
	out, _, _ = wineKr(t, e, kr, nil, append(base, "exec", "--mask", "-e", "V=kr/item", "--", "cmd", "/c", "echo %V%")...)
	if strings.Contains(out, "set by kr") || !strings.Contains(out, "<concealed by kr>") {
		t.Fatalf("exec --mask on Windows: %q", out)
	}
	for _, n := range []string{"gk/item", "kr/item"} {
		wineKr(t, e, kr, nil, append(base, "rm", n)...)
	}
}
