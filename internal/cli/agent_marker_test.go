package cli

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/ipc"
)

// serveCountingAgent runs an agent in this process on env's socket and
// returns a function giving the number of connections made to it so far:
// it connects itself and waits for the answer, so every earlier
// connection has been accepted (the kernel queues them in order), and
// leaves its own out of the count.
func serveCountingAgent(t *testing.T, env map[string]string) (dials func() int32) {
	t.Helper()
	path, err := ipc.DefaultPath(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { agent.NewServer(agent.Options{}).Serve(ctx, cl); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	var own int32
	return func() int32 {
		t.Helper()
		c, err := ipc.Dial(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := agent.NewClient(c).Status(); err != nil {
			t.Fatal(err)
		}
		own++
		return cl.n.Load() - own
	}
}

// TestReadsDialOnlyWhenSomethingIsCached: a read of an OS store asks the
// agent only while `kr unlock --cache` has left a marker that has not
// expired; the cached value is then still served, and kr lock ends it.
func TestReadsDialOnlyWhenSomethingIsCached(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no cache marker with named pipes: every read asks the agent")
	}
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_SERVICE": "kr"}
	dials := serveCountingAgent(t, env)
	e := newTestEnv(t, "old", false, env)
	get := func(want string) {
		t.Helper()
		if code := e.run("--backend", "secretservice", "get", "db/pw"); code != 0 || e.out.String() != want {
			t.Fatalf("get: %q, exit %d, %s; want %q", e.out.String(), code, e.err.String(), want)
		}
	}
	if code := e.run("--backend", "secretservice", "set", "db/pw"); code != 0 {
		t.Fatalf("set: %d %s", code, e.err.String())
	}
	before := dials()
	get("old")
	if d := dials() - before; d != 0 {
		t.Fatalf("a read with nothing cached made %d connection(s) to the agent", d)
	}

	if code := e.run("--backend", "secretservice", "unlock", "--cache", "db/pw", "--ttl", "1m"); code != 0 {
		t.Fatalf("unlock --cache: %d %s", code, e.err.String())
	}
	marker := e.app.cacheMarker()
	fi, err := os.Lstat(marker)
	if err != nil || !fi.ModTime().After(time.Now().Add(50*time.Second)) {
		t.Fatalf("cache marker %s: %v, %v; want one expiring in about a minute", marker, fi, err)
	}
	// Behind kr's back, so that only the agent has the old value.
	if err := e.store.Set(context.Background(), "db/pw", []byte("new")); err != nil {
		t.Fatal(err)
	}
	before = dials()
	get("old")
	if d := dials() - before; d != 1 {
		t.Fatalf("a read with a value cached made %d connections to the agent, want 1", d)
	}

	// An expired marker is not followed.
	past := time.Now().Add(-time.Minute)
	if err := os.Chtimes(marker, past, past); err != nil {
		t.Fatal(err)
	}
	before = dials()
	get("new")
	if d := dials() - before; d != 0 {
		t.Fatalf("a read with an expired marker made %d connection(s) to the agent", d)
	}

	if code := e.run("--backend", "secretservice", "unlock", "--cache", "db/pw", "--ttl", "1m"); code != 0 {
		t.Fatalf("unlock --cache: %d %s", code, e.err.String())
	}
	if code := e.run("lock"); code != 0 {
		t.Fatalf("lock: %d %s", code, e.err.String())
	}
	if _, err := os.Lstat(marker); !os.IsNotExist(err) {
		t.Fatalf("after kr lock the marker is still there: %v", err)
	}
	before = dials()
	get("new")
	if d := dials() - before; d != 0 {
		t.Fatalf("a read after kr lock made %d connection(s) to the agent", d)
	}
}

// TestMarkerKeepsTheLatestExpiry: a shorter --cache after a longer one
// does not cut the marker short, or the first value would go unread.
func TestMarkerKeepsTheLatestExpiry(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no cache marker with named pipes")
	}
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_SERVICE": "kr"}
	serveTestAgent(t, env)
	e := newTestEnv(t, "v", false, env)
	for _, n := range []string{"a", "b"} {
		e.app.IO.In = strings.NewReader("v")
		if code := e.run("--backend", "secretservice", "set", n); code != 0 {
			t.Fatalf("set: %d %s", code, e.err.String())
		}
	}
	for _, args := range [][]string{{"a", "1h"}, {"b", "1m"}} {
		if code := e.run("--backend", "secretservice", "unlock", "--cache", args[0], "--ttl", args[1]); code != 0 {
			t.Fatalf("unlock --cache: %d %s", code, e.err.String())
		}
	}
	fi, err := os.Lstat(e.app.cacheMarker())
	if err != nil || fi.ModTime().Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("marker: %v, %v; want the hour of the first --cache", fi, err)
	}
}

// TestAgentStopRemovesTheMarker: once the agent is gone nothing is
// cached, and reads stop asking.
func TestAgentStopRemovesTheMarker(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no cache marker with named pipes")
	}
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_SERVICE": "kr"}
	serveTestAgent(t, env)
	e := newTestEnv(t, "v", false, env)
	if code := e.run("--backend", "secretservice", "set", "a"); code != 0 {
		t.Fatalf("set: %d %s", code, e.err.String())
	}
	if code := e.run("--backend", "secretservice", "unlock", "--cache", "a"); code != 0 {
		t.Fatalf("unlock --cache: %d %s", code, e.err.String())
	}
	if code := e.run("agent", "stop"); code != 0 {
		t.Fatalf("agent stop: %d %s", code, e.err.String())
	}
	if _, err := os.Lstat(e.app.cacheMarker()); !os.IsNotExist(err) {
		t.Fatalf("after kr agent stop the marker is still there: %v", err)
	}
	// A marker left by an agent that crashed goes with the next stop.
	if err := os.WriteFile(e.app.cacheMarker(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if code := e.run("agent", "stop"); code != 0 || !strings.Contains(e.err.String(), "no agent") {
		t.Fatalf("agent stop with none running: %d %s", code, e.err.String())
	}
	if _, err := os.Lstat(e.app.cacheMarker()); !os.IsNotExist(err) {
		t.Fatalf("the crashed agent's marker is still there: %v", err)
	}
}
