//go:build windows

package ipc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"time"
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

// TestPipeDeadline: a client that says nothing is cut off by the deadline.
func TestPipeDeadline(t *testing.T) {
	if os.Getenv("WINEPREFIX") != "" {
		// Closing a handle that another thread is blocked on in ReadFile
		// once made wine's Go runtime die ("setevent failed; errno=6"): a
		// handle value reused by the runtime. Open issue; real Windows only.
		t.Skip("known wine failure of close-on-deadline; see the stop 7 note")
	}
	name := testPipe()
	l, err := Listen(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		done <- err
	}()
	c, err := Dial(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read returned data from a silent client")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline did not end a blocked read")
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
