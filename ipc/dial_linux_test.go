package ipc

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestDialNoAgent: no socket and a stale socket are ErrNoAgent (a caller
// may then start one, or read without one); an unsafe directory is not.
func TestDialNoAgent(t *testing.T) {
	path := sockPath(t)
	if _, err := Dial(context.Background(), path); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no directory: %v, want ErrNoAgent", err)
	}
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(context.Background(), filepath.Join(filepath.Dir(path), "other.sock")); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no socket: %v, want ErrNoAgent", err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(filepath.Dir(path), "stale.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := Dial(context.Background(), filepath.Join(filepath.Dir(path), "stale.sock")); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("stale socket: %v, want ErrNoAgent", err)
	}
	l.Close()
	os.Chmod(filepath.Dir(path), 0o755)
	if _, err := Dial(context.Background(), path); !errors.Is(err, ErrUnsafeDir) || errors.Is(err, ErrNoAgent) {
		t.Fatalf("a 0755 directory: %v, want ErrUnsafeDir", err)
	}
}

// TestDialWaitsForBacklog: an agent too busy to take connections off its
// listen backlog makes Dial wait (a nonblocking connect says EAGAIN), not
// fail as if no agent ran.
func TestDialWaitsForBacklog(t *testing.T) {
	path := sockPath(t)
	if err := EnsureDir(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the backlog until a nonblocking connect is refused with EAGAIN.
	for full := false; !full; {
		c, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(c)
		err = syscall.Connect(c, &syscall.SockaddrUnix{Name: path})
		switch {
		case errors.Is(err, syscall.EAGAIN):
			full = true
		case err != nil:
			t.Fatal(err)
		}
	}
	// Nobody accepts: Dial waits for room until ctx ends, and says so.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = Dial(ctx, path)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNoAgent) {
		t.Fatalf("dial to a busy agent: %v, want a wait ended by the context", err)
	}
	// Room on the backlog: Dial gets through.
	nfd, _, err := syscall.Accept(fd)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(nfd)
	c, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatalf("dial once there is room: %v", err)
	}
	c.Close()
}
