//go:build !windows

package ipc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kr-keyring/kr/internal/filelock"
)

func defaultPath(getenv func(string) string) (string, error) {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kr", "agent.sock"), nil
	}
	return filepath.Join(os.TempDir(), "kr-"+strconv.Itoa(os.Getuid()), "agent.sock"), nil
}

// checkDir checks the socket's directory as GnuPG does: a real directory
// (not a symlink), owned by us, with no group or other permissions. The
// file vault checks its directories by other rules (checkDir in
// backends/filevault): a vault's root may be a symlink (a synced folder) and
// may be readable by others, for it holds only ciphertext; this directory
// holds the way to the keys, and under the temp dir anyone could have made
// it first.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symlink", ErrUnsafeDir, dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrUnsafeDir, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not by you", ErrUnsafeDir, dir, st.Uid)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, want 0700", ErrUnsafeDir, dir, perm)
	}
	return nil
}

func ensureDir(dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return checkDir(dir)
}

func listen(path string) (net.Listener, error) {
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// A lock held for the listener's life serialises agents starting at
	// once: without it two could both find the socket stale, and the second
	// would remove the first's fresh socket and orphan it.
	lock, err := filelock.TryLock(path + ".lock")
	if errors.Is(err, filelock.ErrBusy) {
		return nil, fmt.Errorf("%w on %s", ErrAgentRunning, path)
	}
	if err != nil {
		return nil, err
	}
	l, err := listenLocked(path)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	l.lock = lock
	return l, nil
}

func listenLocked(path string) (*listener, error) {
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%w on %s", ErrAgentRunning, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// Closing must not unlink a path that another agent may own by then.
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		l.Close()
		return nil, err
	}
	return &listener{UnixListener: l, path: path, ours: fi}, nil
}

type listener struct {
	*net.UnixListener
	path string
	ours fs.FileInfo
	lock *filelock.File // held while listening
	once sync.Once
}

// Accept returns the next connection from this user; others are closed
// unread.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && uid == os.Getuid() {
			return c, nil
		}
		c.Close()
	}
}

// Close stops listening and removes the socket if it is still ours, then
// releases the lock so the next agent may listen.
func (l *listener) Close() error {
	var err error
	l.once.Do(func() {
		err = l.UnixListener.Close()
		if l.lock != nil {
			defer l.lock.Unlock()
		}
		// Inode numbers are reused at once, so a file with our inode may
		// still be another agent's: one that answers is not ours to remove.
		fi, e := os.Lstat(l.path)
		if e != nil || !os.SameFile(fi, l.ours) {
			return
		}
		if c, e := net.DialTimeout("unix", l.path, 200*time.Millisecond); e == nil {
			c.Close()
			return
		}
		os.Remove(l.path)
	})
	return err
}

// dial checks the socket's directory, then connects, retrying while the
// listen backlog is full (EAGAIN), then checks the peer.
func dial(ctx context.Context, path string) (net.Conn, error) {
	if err := checkDir(filepath.Dir(path)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (%s): %w", ErrNoAgent, path, err)
		}
		return nil, err
	}
	var d net.Dialer
	var c net.Conn
	for backoff := time.Millisecond; ; backoff = min(2*backoff, 50*time.Millisecond) {
		var err error
		c, err = d.DialContext(ctx, "unix", path)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("%w (%s): %w", ErrNoAgent, path, err)
		}
		if !errors.Is(err, syscall.EAGAIN) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the agent at %s is busy: %w", path, ctx.Err())
		case <-time.After(backoff):
		}
	}
	uid, err := peerUID(c.(*net.UnixConn))
	if err != nil || uid != os.Getuid() {
		c.Close()
		return nil, fmt.Errorf("%w: the agent socket %s is served by uid %d", ErrPeer, path, uid)
	}
	return c, nil
}

// peerUID asks the kernel for the peer's uid through the connection's raw
// control, without duplicating the descriptor.
func peerUID(c *net.UnixConn) (int, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	uid, cerr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { uid, cerr = peerUIDOf(int(fd)) }); err != nil {
		return -1, err
	}
	return uid, cerr
}

func peerPID(c net.Conn) (int, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return -1, fmt.Errorf("not a Unix socket connection: %T", c)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	pid, cerr := -1, error(nil)
	if err := raw.Control(func(fd uintptr) { pid, cerr = peerPIDOf(int(fd)) }); err != nil {
		return -1, err
	}
	return pid, cerr
}
