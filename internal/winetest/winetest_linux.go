//go:build linux

package winetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// prefixVersion names the prepared prefix; bump it when setup changes.
const prefixVersion = "kr-wine-v1"

// Env is a prepared wine prefix.
type Env struct {
	Wine   string
	Prefix string
	env    []string

	t       testing.TB
	session string    // the lock file that gives one test the prefix
	held    sync.Once // taken at the first Command, held until t ends
}

// Setup finds wine and prepares the shared prefix. Without wine the test
// skips, except under CI, where a missing wine is a failure.
func Setup(t testing.TB) *Env {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("wine tests need linux/amd64")
	}
	wine := ""
	for _, c := range []string{"/usr/lib/wine/wine64", "wine64", "wine"} {
		if p, err := exec.LookPath(c); err == nil {
			wine = p
			break
		}
	}
	if wine == "" {
		missing(t, "wine64 is not installed (Debian package wine64)")
	}
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		missing(t, "x86_64-w64-mingw32-gcc is not installed (Debian package gcc-mingw-w64-x86-64)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, prefixVersion)
	e := &Env{Wine: wine, Prefix: filepath.Join(root, "prefix")}
	e.env = append(os.Environ(),
		"WINEPREFIX="+e.Prefix,
		"WINEDEBUG=-all",
		// No Mono or Gecko install dialogs; our ProcessPrng before wine's own.
		"WINEDLLOVERRIDES=mscoree,mshtml=;bcryptprimitives=n,b",
		"DISPLAY=",
	)
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	// One test process prepares the prefix; the others wait for it.
	lock, err := os.OpenFile(filepath.Join(root, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	ready := filepath.Join(root, "ready")
	if _, err := os.Stat(ready); err != nil {
		if err := e.prepare(root); err != nil {
			t.Fatalf("prepare the wine prefix: %v", err)
		}
		os.WriteFile(ready, nil, 0o600)
	}
	// The prefix is taken at the first Command, not here: the test builds
	// its Windows binaries first, compiling while another package's test
	// has the prefix.
	e.t, e.session = t, filepath.Join(root, "session")
	return e
}

// exclusive holds the prefix for t alone until it ends. go test runs
// packages in parallel processes, and wine sessions of two of them in one
// prefix fail now and then: a Windows test starting a helper .exe while
// another package's test ran got "fork/exec ...: Internal error" from
// CreateProcess.
func (e *Env) exclusive(t testing.TB, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

func missing(t testing.TB, why string) {
	t.Helper()
	testenv.Skip(t, why)
}

func (e *Env) prepare(root string) error {
	os.RemoveAll(e.Prefix)
	src := filepath.Join(root, "processprng.c")
	dll := filepath.Join(root, "bcryptprimitives.dll")
	if err := os.WriteFile(src, processPrngSource, 0o600); err != nil {
		return err
	}
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", dll, src, "-lbcrypt").CombinedOutput(); err != nil {
		return fmt.Errorf("build the ProcessPrng shim: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	boot := e.command(ctx, "wineboot", "-i") // the setup lock is held; no test holds the prefix yet
	if out, err := boot.CombinedOutput(); err != nil {
		return fmt.Errorf("wineboot: %v\n%s", err, out)
	}
	e.waitServer()
	sys32 := filepath.Join(e.Prefix, "drive_c", "windows", "system32")
	b, err := os.ReadFile(dll)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), b, 0o644)
}

// waitServer waits for wineserver to settle, so that the next run starts
// from a prefix on disk.
func (e *Env) waitServer() {
	server := filepath.Join(filepath.Dir(e.Wine), "wineserver")
	if _, err := os.Stat(server); err != nil {
		server = "wineserver"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, server, "-w")
	cmd.Env = e.env
	cmd.Run()
}

// Hold waits until the prefix is this test's alone, for the rest of the
// test; Command and Context do it too.
func (e *Env) Hold() { e.held.Do(func() { e.exclusive(e.t, e.session) }) }

// Context is a context that ends d from now, made once the prefix is this
// test's: another package's wine test may hold the prefix for minutes, and
// that wait must not count against the commands' time.
func (e *Env) Context(d time.Duration) (context.Context, context.CancelFunc) {
	e.Hold()
	return context.WithTimeout(context.Background(), d)
}

// Command runs a Windows program under wine, holding the prefix first
// (see Hold).
func (e *Env) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	e.Hold()
	return e.command(ctx, exe, args...)
}

func (e *Env) command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Wine, append([]string{exe}, args...)...)
	cmd.Env = append([]string(nil), e.env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// Environ is the environment Command gives wine, for a program that runs
// wine itself (a wrapper script standing in for a Windows program). Call
// Hold (or Context) first: the prefix is this test's only from then on.
func (e *Env) Environ() []string { return append([]string(nil), e.env...) }

// Build cross-compiles the main package pkg (e.g. "./cmd/kr") to an .exe.
func (e *Env) Build(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".exe")
	goBuild(t, "build", "-o", out, pkg)
	return out
}

// BuildTest cross-compiles pkg's tests to a Windows test binary.
func (e *Env) BuildTest(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".test.exe")
	goBuild(t, "test", "-c", "-o", out, pkg)
	return out
}

func goBuild(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// RunTest runs a Windows test binary under wine and fails t unless it
// passes. Each Windows test's outcome line is logged.
func (e *Env) RunTest(t testing.TB, exe string, args ...string) {
	t.Helper()
	ctx, cancel := e.Context(5 * time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := e.Command(ctx, exe, append([]string{"-test.v", "-test.timeout=4m"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--- ") {
			t.Log("wine: " + strings.TrimSpace(line))
		}
	}
	if err != nil || !strings.Contains(out.String(), "\nPASS") && !strings.HasPrefix(out.String(), "PASS") {
		t.Fatalf("Windows tests failed under wine (%v):\n%s", err, out.String())
	}
}
