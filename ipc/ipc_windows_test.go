//go:build windows

package ipc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

func testPipe() string {
	var b [6]byte
	rand.Read(b[:])
	return `\\.\pipe\kr-agent-test-` + hex.EncodeToString(b[:])
}

// TestPipeRoundTrip: a client of this user is served, both ways.
func TestPipeRoundTrip(t *testing.T) {
	name := testPipe()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5)
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(append([]byte("echo:"), buf...))
				}
			}()
		}
	}()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, name)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		c.Write([]byte("hello"))
		got := make([]byte, 10)
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "echo:hello" {
			t.Fatalf("round trip %d: %q, %v", i, got, err)
		}
		c.Close()
	}
}

// TestPipeFirstInstance: a second Listen on a name in use (a running agent,
// or a squatter that created the pipe first) fails instead of sharing it.
func TestPipeFirstInstance(t *testing.T) {
	name := testPipe()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Listen(name); !errors.Is(err, ErrAgentRunning) {
		t.Fatalf("second Listen: %v, want ErrAgentRunning", err)
	}
}

// TestPipeDeadline: a client that says nothing is cut off by the deadline;
// the handle stays usable (a later deadline lets data through), and Close
// during a blocked read ends it.
func TestPipeDeadline(t *testing.T) {
	name := testPipe()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type result struct {
		first, second, third error
		got                  string
	}
	done := make(chan result, 1)
	go func() {
		var r result
		c, err := l.Accept()
		if err != nil {
			r.first = err
			done <- r
			return
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		_, r.first = c.Read(make([]byte, 1))
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 2)
		_, r.second = io.ReadFull(c, buf)
		r.got = string(buf)
		c.SetDeadline(time.Time{})
		go func() { time.Sleep(200 * time.Millisecond); c.Close() }()
		_, r.third = c.Read(buf)
		done <- r
	}()
	c, err := Dial(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(800 * time.Millisecond)
	c.Write([]byte("ok"))
	select {
	case r := <-done:
		if !errors.Is(r.first, os.ErrDeadlineExceeded) {
			t.Fatalf("read from a silent client: %v, want a deadline error", r.first)
		}
		if r.second != nil || r.got != "ok" {
			t.Fatalf("read after a new deadline: %q, %v", r.got, r.second)
		}
		if !errors.Is(r.third, net.ErrClosed) {
			t.Fatalf("read ended by Close: %v, want net.ErrClosed", r.third)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the deadline or Close did not end a blocked read")
	}
}

// TestPipeCloseWakesAccept: closing the listener ends a blocked Accept.
func TestPipeCloseWakesAccept(t *testing.T) {
	l, err := Listen(testPipe())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	time.Sleep(200 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a blocked Accept")
	}
}

// TestPipeOtherUserRefused: a client whose process token is not the
// listener's user is disconnected unread and never returned by Accept. With
// one user under test, the listener is told to expect LocalSystem instead.
func TestPipeOtherUserRefused(t *testing.T) {
	name := testPipe()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		t.Fatal(err)
	}
	pl := l.(*pipeListener)
	pl.mu.Lock()
	pl.sid = system
	pl.mu.Unlock()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	c, err := Dial(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("refused client read %d bytes", n)
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("refused client was left connected")
	}
	select {
	case <-accepted:
		t.Fatal("Accept returned a client of another user")
	case <-time.After(300 * time.Millisecond):
	}
}

// TestPipeDescriptor: the pipe is owned by this user, and its DACL is
// protected (inherits nothing) with one entry, for this user.
func TestPipeDescriptor(t *testing.T) {
	l, err := Listen(testPipe())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pl := l.(*pipeListener)
	sd, err := windows.GetSecurityInfo(pl.next, windows.SE_KERNEL_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := userSID()
	owner, _, err := sd.Owner()
	if err != nil || !windows.EqualSid(owner, me) {
		t.Fatalf("owner %v, want %v (%v)", owner, me, err)
	}
	want := "D:P(A;;FA;;;" + me.String() + ")"
	if got := sd.String(); !strings.Contains(got, want) {
		// GA is stored as FILE_ALL_ACCESS on a file object.
		if !strings.Contains(got, "D:P(A;;GA;;;"+me.String()+")") {
			t.Fatalf("descriptor %s, want the DACL %s", got, want)
		}
	}
}

// TestPipeServerOwner: Dial checks the pipe server's process owner; our
// own server passes.
func TestPipeServerOwner(t *testing.T) {
	sid, err := userSID()
	if err != nil {
		t.Fatal(err)
	}
	name, _ := DefaultPath(nil)
	if want := `\\.\pipe\kr-agent-` + sid.String(); name != want {
		t.Fatalf("DefaultPath = %s, want %s", name, want)
	}
}
