package wslbridge

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/backendtest"
	"github.com/kr-keyring/kr/backends/memory"
	"github.com/kr-keyring/kr/internal/credkit"
	"github.com/kr-keyring/kr/internal/dockercred"
	"github.com/kr-keyring/kr/internal/gitcred"
	"github.com/kr-keyring/kr/internal/wait"
)

// fakeCreds is Credential Manager in memory.
type fakeCreds struct {
	mu    sync.Mutex
	creds map[string]credkit.GenericCredential
}

func (f *fakeCreds) List(prefix string) ([]credkit.GenericCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []credkit.GenericCredential
	for t, c := range f.creds {
		if strings.HasPrefix(t, prefix) {
			c.Blob = nil
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeCreds) Read(target string) (credkit.GenericCredential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.creds[target]
	if !ok {
		return credkit.GenericCredential{}, credkit.ErrNoItem
	}
	c.Blob = bytes.Clone(c.Blob)
	return c, nil
}

func (f *fakeCreds) Write(c credkit.GenericCredential) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.creds == nil {
		f.creds = map[string]credkit.GenericCredential{}
	}
	c.Blob = bytes.Clone(c.Blob)
	c.Modified = time.Now()
	f.creds[c.Target] = c
	return nil
}

func (f *fakeCreds) Delete(target string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.creds[target]; !ok {
		return credkit.ErrNoItem
	}
	delete(f.creds, target)
	return nil
}

// fakeWindows runs other as the Windows side of a bridge over an
// in-process pipe and returns kr's end; the side stops when other
// returns, as a kr.exe that exits.
func fakeWindows(t *testing.T, other func(conn net.Conn)) *Client {
	t.Helper()
	ours, theirs := net.Pipe()
	dead := make(chan struct{})
	go func() {
		defer close(dead)
		defer theirs.Close()
		other(theirs)
	}()
	t.Cleanup(func() {
		ours.Close()
		<-dead
	})
	return newClient(ours, func() { ours.Close() }, dead, func() string { return "exit status 2: the fake stopped" })
}

// served is a client of a real Server over a memory store and fakeCreds.
func served(t *testing.T, cm *fakeCreds) *Client {
	stores := map[string]backends.Backend{}
	var mu sync.Mutex
	s := &Server{
		Open: func(ctx context.Context, service string) (backends.Backend, error) {
			mu.Lock()
			defer mu.Unlock()
			if stores[service] == nil {
				stores[service] = memory.New()
			}
			return stores[service], nil
		},
		Creds: cm,
	}
	return fakeWindows(t, func(c net.Conn) {
		if err := s.Serve(context.Background(), c, c); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Serve: %v", err)
		}
	})
}

func limited(d time.Duration) context.Context { return wait.WithLimit(context.Background(), d) }

// TestConformance runs the store suite through the bridge: every value,
// name and error crosses the wire and comes back as kr's own.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backends.Backend {
		return NewBackend(limited(30*time.Second), served(t, &fakeCreds{}), "svc")
	})
}

// TestLayoutsThroughBridge stores a git and a docker login through the
// bridge and finds them, with their attributes, in Credential Manager as
// the Windows helpers lay them out.
func TestLayoutsThroughBridge(t *testing.T) {
	ctx := limited(30 * time.Second)
	cm := &fakeCreds{}
	b := NewBackend(ctx, served(t, cm), "kr")
	g := gitcred.WinCredVia(b.Creds())
	c := &gitcred.Credential{Protocol: "https", Host: "example.org", Username: "alice", Password: []byte("pw\x01é"), PasswordExpiry: time.Unix(4102444800, 0)}
	if err := g.Save(ctx, c); err != nil {
		t.Fatal(err)
	}
	raw, err := cm.Read("git:https://example.org")
	if err != nil || raw.UserName != "alice" || len(raw.Attribute("git_password_expiry_utc")) != 20 {
		t.Fatalf("git's credential in Credential Manager: %+v, %v", raw, err)
	}
	es, err := g.Entries(ctx, &gitcred.Credential{Protocol: "https", Host: "example.org"})
	if err != nil || len(es) != 1 {
		t.Fatalf("entries: %v, %v", es, err)
	}
	got, err := g.Read(ctx, es[0])
	if err != nil || string(got.Password) != "pw\x01é" || !got.PasswordExpiry.Equal(time.Unix(4102444800, 0)) {
		t.Fatalf("read back: %+v, %v", got, err)
	}

	d := dockercred.WinCredVia(b.Creds())
	if err := d.Add(ctx, dockercred.Credentials{ServerURL: "https://registry.example.org", Username: "bob", Secret: "tok"}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := cm.Read("https://registry.example.org"); string(raw.Attribute("label")) != dockercred.Label {
		t.Fatalf("docker's label: %q", raw.Attribute("label"))
	}
	dc, err := d.Get(ctx, "registry.example.org")
	if err != nil || dc.Username != "bob" || dc.Secret != "tok" {
		t.Fatalf("docker get: %+v, %v", dc, err)
	}
	if err := g.Remove(ctx, es[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := cm.Read("git:https://example.org"); !errors.Is(err, credkit.ErrNoItem) {
		t.Fatalf("removed credential: %v", err)
	}
}

// frame writes a raw frame of body.
func frame(w io.Writer, body string) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(body)))
	w.Write(append(hdr[:], body...))
}

// TestFramingErrors: an answer kr cannot read is an error that says so,
// and the bridge is not used again (it is killed; later calls fail at
// once without writing).
func TestFramingErrors(t *testing.T) {
	for name, c := range map[string]struct {
		answer func(w io.Writer)
		want   string
	}{
		"not JSON":      {func(w io.Writer) { frame(w, "{nope") }, "cannot read"},
		"unknown key":   {func(w io.Writer) { frame(w, `{"v":1,"surprise":1}`) }, "cannot read"},
		"empty":         {func(w io.Writer) { frame(w, "") }, "cannot read"},
		"too large":     {func(w io.Writer) { w.Write([]byte{0xff, 0xff, 0xff, 0xff}) }, "cannot read"},
		"bad base64":    {func(w io.Writer) { frame(w, `{"v":1,"value":"%%%"}`) }, "cannot read"},
		"other version": {func(w io.Writer) { frame(w, `{"v":7}`) }, "version 7"},
		"half a frame":  {func(w io.Writer) { w.Write([]byte{0, 0, 0, 9, '{'}) }, "stopped (exit status 2: the fake stopped) during a request"},
	} {
		t.Run(name, func(t *testing.T) {
			var extra sync.WaitGroup
			extra.Add(1)
			cl := fakeWindows(t, func(conn net.Conn) {
				defer extra.Done()
				var req Request
				if err := agent.ReadFrame(conn, &req, Version); err != nil {
					t.Errorf("read the request: %v", err)
					return
				}
				c.answer(conn)
			})
			b := NewBackend(limited(30*time.Second), cl, "kr")
			_, err := b.Get(context.Background(), "x")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			var he interface{ Hint() string }
			if !errors.As(err, &he) || he.Hint() == "" {
				t.Errorf("no hint: %v", err)
			}
			if !cl.Broken() {
				t.Error("the client is still in use")
			}
			extra.Wait()
			if _, err2 := b.List(context.Background(), ""); err2 == nil {
				t.Error("a broken bridge answered again")
			}
		})
	}
}

// TestDeadBridge: kr.exe gone in the middle of a request is an error
// naming how it stopped, at once, not a wait.
func TestDeadBridge(t *testing.T) {
	cl := fakeWindows(t, func(conn net.Conn) {
		var req Request
		agent.ReadFrame(conn, &req, Version)
	})
	start := time.Now()
	_, err := NewBackend(limited(time.Hour), cl, "kr").Get(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "stopped (exit status 2: the fake stopped) during a request") {
		t.Fatalf("err = %v", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a dead bridge reported as a timeout: %v", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestTimeout: a bridge that reads the request and never answers fails
// the call within --timeout, as a timeout (exit 4) whose hint names
// kr.exe.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	cl := fakeWindows(t, func(conn net.Conn) {
		var req Request
		agent.ReadFrame(conn, &req, Version)
		<-release
	})
	defer close(release)
	ctx := limited(200 * time.Millisecond)
	_, err := NewBackend(ctx, cl, "kr").Get(ctx, "x")
	var te *wait.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(te.Hint(), "kr.exe") {
		t.Fatalf("err = %v, want a timeout naming kr.exe", err)
	}
}

// TestRemoteErrors: the store's refusals come back as kr's errors.
func TestRemoteErrors(t *testing.T) {
	ctx := limited(30 * time.Second)
	b := NewBackend(ctx, served(t, &fakeCreds{}), "kr")
	if _, err := b.Get(ctx, "missing"); !errors.Is(err, backends.ErrNotFound) || err.Error() != "missing: secret not found" {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := b.Creds().Read("git:https://nowhere"); !errors.Is(err, credkit.ErrNoItem) {
		t.Fatalf("read a missing credential: %v", err)
	}
	if _, err := b.c.do(ctx, &Request{Op: "launch"}); err == nil || !strings.Contains(err.Error(), `unknown operation "launch"`) {
		t.Fatalf("unknown op: %v", err)
	}
	// A refused request leaves the bridge usable.
	if err := b.Set(ctx, "a", []byte("v")); err != nil {
		t.Fatal(err)
	}
}

// script writes an executable shell script standing in for kr.exe.
func script(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "kr.exe")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartFailures runs real processes: one that exits at once, one that
// never answers, one that is not there.
func TestStartFailures(t *testing.T) {
	t.Run("exits", func(t *testing.T) {
		_, err := Start(limited(time.Minute), script(t, "echo 'kr: error: no such command' >&2; exit 3"), nil)
		if err == nil || !strings.Contains(err.Error(), "exit status 3: kr: error: no such command") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		start := time.Now()
		_, err := Start(limited(300*time.Millisecond), script(t, "exec sleep 600"), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want a timeout", err)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := Start(limited(time.Minute), filepath.Join(t.TempDir(), "kr.exe"), nil)
		var he interface{ Hint() string }
		if err == nil || !errors.As(err, &he) || !strings.Contains(he.Hint(), "KR_WSL_EXE") {
			t.Fatalf("err = %v", err)
		}
	})
}
