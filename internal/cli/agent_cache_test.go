package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/ipc"
)

// serveTestAgent runs an agent in this process on the socket the apps of
// env will use, until the test ends.
func serveTestAgent(t *testing.T, env map[string]string) {
	t.Helper()
	path, err := ipc.DefaultPath(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { agent.NewServer(agent.Options{}).Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestCacheKeyIsTheStore: a value cached through one spelling of the
// backend ("auto") is dropped by a set through another ("secretservice")
// when both open the same store, so get never serves the stale value.
func TestCacheKeyIsTheStore(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_SERVICE": "kr"}
	serveTestAgent(t, env)
	auto := newTestEnv(t, "old", false, env)
	if code := auto.run("--backend", "auto", "set", "db/pw"); code != 0 {
		t.Fatalf("set: %d %s", code, auto.err.String())
	}
	if code := auto.run("--backend", "auto", "unlock", "--cache", "db/pw", "--ttl", "1m"); code != 0 {
		t.Fatalf("unlock --cache: %d %s", code, auto.err.String())
	}
	named := newTestEnv(t, "new", false, env)
	named.app.opened = auto.store // the same store, spelled by its name
	if code := named.run("--backend", "secretservice", "set", "db/pw"); code != 0 {
		t.Fatalf("set through the other spelling: %d %s", code, named.err.String())
	}
	for _, e := range []*testEnv{auto, named} {
		if code := e.run("get", "db/pw"); code != 0 || strings.TrimSpace(e.out.String()) != "new" {
			t.Fatalf("get (backend %s): %q, exit %d, %s; want the new value", e.app.BackendName, e.out.String(), code, e.err.String())
		}
	}
}

// TestAgentFailureIsNotDamage: an agent that takes the connection and
// drops it is an error about the agent, not "damaged or not for this
// vault", and a passphrase in the environment does not paper over it (a
// local scrypt in every client is no answer to a struggling agent).
func TestAgentFailureIsNotDamage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	cfg := t.TempDir()
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 10, Accepted: &recipients.Record{Path: filepath.Join(cfg, recipients.FileName)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_BACKEND": "file", "KR_VAULT": dir, "KR_PASSPHRASE": "pw", "KR_CONFIG_DIR": cfg}
	e := newTestEnv(t, "v", false, env)
	e.app.opened = nil
	if code := e.run("--backend", "file", "set", "x"); code != 0 {
		t.Fatalf("set: %d %s", code, e.err.String())
	}
	path, _ := ipc.DefaultPath(func(k string) string { return env[k] })
	l, err := ipc.Listen(path)
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
			c.Close()
		}
	}()
	e = newTestEnv(t, "", false, env)
	e.app.opened = nil
	code := e.run("get", "x")
	msg := e.err.String()
	if code == 0 || strings.Contains(msg, "damaged") || !strings.Contains(msg, "the agent at "+path) {
		t.Fatalf("get through an agent that drops the connection: exit %d, %q", code, msg)
	}
}

// countingListener counts the connections an agent accepts.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// TestOneAgentConnectionPerRun: a command that reads several cached values
// talks to the agent over one connection, not one per value.
func TestOneAgentConnectionPerRun(t *testing.T) {
	env := map[string]string{"XDG_RUNTIME_DIR": filepath.Join(t.TempDir(), "run"), "KR_SERVICE": "kr"}
	path, err := ipc.DefaultPath(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	inner, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	l := &countingListener{Listener: inner}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { agent.NewServer(agent.Options{}).Serve(ctx, l); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	e := newTestEnv(t, "", false, env)
	for _, n := range []string{"a", "b", "c"} {
		if err := e.store.Set(context.Background(), n, []byte("value-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	if code := e.run("unlock", "--cache", "a,b,c", "--ttl", "1m"); code != 0 {
		t.Fatalf("unlock --cache: %d %s", code, e.err.String())
	}
	before := l.n.Load()
	if code := e.run("env", "-e", "A=a", "-e", "B=b", "-e", "C=c"); code != 0 {
		t.Fatalf("env: %d %s", code, e.err.String())
	}
	if got := l.n.Load() - before; got != 1 {
		t.Errorf("kr env with three cached references opened %d agent connections, want 1", got)
	}
	if !strings.Contains(e.out.String(), "value-c") {
		t.Errorf("env printed %q", e.out.String())
	}
}
