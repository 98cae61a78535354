package ipc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// The test binary is re-executed as another user's client.
func TestMain(m *testing.M) {
	if p := os.Getenv("KR_IPC_TEST_CLIENT"); p != "" {
		os.Exit(otherUserClient(p))
	}
	os.Exit(m.Run())
}

// otherUserClient connects without ipc.Dial's checks (it is the attacker)
// and reports whether the server said anything: exit 0 when refused.
func otherUserClient(path string) int {
	c, err := net.Dial("unix", path)
	if err != nil {
		return 0 // could not even connect: refused too
	}
	defer c.Close()
	c.Write([]byte("ping\n"))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil && line == "hello\n" {
		return 1
	}
	return 0
}

func sockPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "kr", "agent.sock")
}

func serveHello(t *testing.T, l net.Listener) <-chan int {
	accepted := make(chan int, 16)
	go func() {
		n := 0
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n++
			accepted <- n
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	return accepted
}

func TestRoundTrip(t *testing.T) {
	path := sockPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serveHello(t, l)
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	if string(b) != "hello\n" {
		t.Fatalf("read %q", b)
	}
	fi, _ := os.Stat(path)
	di, _ := os.Stat(filepath.Dir(path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("socket %v, dir %v; want 0600 and 0700", fi.Mode(), di.Mode())
	}
}

func TestDirChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(dir string) error
		want  string
	}{
		{"group bits", func(d string) error { return os.Chmod(d, 0o750) }, "mode 0750"},
		{"world writable", func(d string) error { return os.Chmod(d, 0o777) }, "mode 0777"},
		{"symlink", func(d string) error {
			real := d + "-real"
			os.Rename(d, real)
			return os.Symlink(real, d)
		}, "symlink"},
		{"not a directory", func(d string) error { os.Remove(d); return os.WriteFile(d, nil, 0o600) }, "not a directory"},
		{"other owner", func(d string) error {
			if os.Getuid() != 0 {
				return errSkip
			}
			return os.Chown(d, 65534, 65534)
		}, "owned by uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := sockPath(t)
			dir := filepath.Dir(path)
			os.Mkdir(dir, 0o700)
			if err := tc.setup(dir); err == errSkip {
				t.Skip("needs root")
			} else if err != nil {
				t.Fatal(err)
			}
			if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Listen: %v, want %q", err, tc.want)
			}
			if _, err := Dial(context.Background(), path); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Dial: %v, want %q", err, tc.want)
			}
		})
	}
}

var errSkip = errors.New("skip")

func TestStaleAndLiveSockets(t *testing.T) {
	path := sockPath(t)
	l1, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	// A killed agent leaves its socket behind: simulate with a listener
	// whose socket file outlives it.
	killListener(l1)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket should still exist: %v", err)
	}
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	// Closing the first listener later must not remove the second's socket.
	l1.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("an old listener removed the new socket: %v", err)
	}
	l2.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left after Close: %v", err)
	}
}

// TestOtherUserRefused opens the directory and the socket to everyone, as
// OpenSSH's agent-getpeereid test does, and runs a client as uid 65534:
// the kernel's peer credentials make the listener close it unread.
func TestOtherUserRefused(t *testing.T) {
	testenv.Root(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is missing")
	}
	base, err := os.MkdirTemp("", "kr-ipc-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	path := filepath.Join(base, "kr", "agent.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := serveHello(t, l)
	os.Chmod(filepath.Dir(path), 0o777)
	os.Chmod(path, 0o666)
	exe := filepath.Join(base, "client.test")
	self, _ := os.Executable()
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(exe, data, 0o755)

	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe)
	cmd.Env = append(os.Environ(), "KR_IPC_TEST_CLIENT="+path)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		t.Fatalf("the other user's client was served: %s", out)
	} else if err != nil {
		t.Fatalf("client: %v: %s", err, out)
	}
	select {
	case <-accepted:
		t.Fatal("Accept returned the other user's connection")
	default:
	}
	// The same client as root (our uid) is served.
	cmd = exec.Command(exe)
	cmd.Env = append(os.Environ(), "KR_IPC_TEST_CLIENT="+path)
	if err := cmd.Run(); err == nil {
		t.Fatal("control: our own client was refused")
	} else if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("control client: %v", err)
	}
}
