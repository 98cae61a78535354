package cli_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/ipc"
)

// fakeAgent listens on the agent socket under run and answers as an agent
// of protocol version v would: a request of another version is refused in
// v and the connection closed; a stop in v is answered and ends it. The
// channel is closed once it has taken a stop, before the stop's answer is
// written: a kr that has read that answer finds it closed, however late
// this goroutine runs after the write.
func fakeAgent(t *testing.T, run string, v int) <-chan struct{} {
	t.Helper()
	path, err := ipc.DefaultPath(func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": run}[k] })
	if err != nil {
		t.Fatal(err)
	}
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if answerAs(c, v, func() { l.Close(); close(stopped) }) {
				c.Close()
				return
			}
			c.Close()
		}
	}()
	return stopped
}

// answerAs answers one request on c in version v; it reports a stop, and
// calls onStop before it answers one.
func answerAs(c net.Conn, v int, onStop func()) (stop bool) {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return false
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return false
	}
	var req struct {
		V  int    `json:"v"`
		Op string `json:"op"`
	}
	json.Unmarshal(body, &req)
	answer := map[string]any{"v": v}
	if req.V != v {
		answer["error"], answer["code"] = "agent: protocol version mismatch", agent.CodeBadRequest
	}
	out, _ := json.Marshal(answer)
	stop = req.V == v && req.Op == agent.OpStop
	if stop {
		onStop()
	}
	c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(out))), out...))
	return stop
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestStaleAgentAfterUpgrade: an agent an older kr started is replaced by
// the commands that need one, stopped by kr lock and kr agent stop, and
// reported with a hint by kr agent status; one a newer kr started is left
// running, with a hint.
func TestStaleAgentAfterUpgrade(t *testing.T) {
	vault, v := newTestVault(t)
	if err := v.Set(context.Background(), "x", []byte("value")); err != nil {
		t.Fatal(err)
	}
	kr := func(run string, args ...string) (string, string, int) {
		cmd := krWithAgent(t, vault, run, t.TempDir(), append([]string{"--timeout", "20s"}, args...)...)
		cmd.Env = append(cmd.Env, "KR_PASSPHRASE=pw")
		return runBounded(t, cmd)
	}
	old := agent.Version - 1

	run := filepath.Join(t.TempDir(), "run")
	stopped := fakeAgent(t, run, old)
	if _, stderr, code := kr(run, "agent", "status"); code != 1 || !strings.Contains(stderr, fmt.Sprintf("protocol version %d, this kr %d", old, agent.Version)) ||
		!strings.Contains(stderr, "kr: hint: run kr agent stop;") || isClosed(stopped) {
		t.Fatalf("agent status: exit %d, %s", code, stderr)
	}
	if stdout, stderr, code := kr(run, "get", "x"); code != 0 || stdout != "value" || !strings.Contains(stderr, "stopped the agent an older kr started") || !isClosed(stopped) {
		t.Fatalf("get through an older agent: exit %d, %q, %s", code, stdout, stderr)
	}

	run = filepath.Join(t.TempDir(), "run")
	stopped = fakeAgent(t, run, old)
	if _, stderr, code := kr(run, "lock"); code != 0 || !isClosed(stopped) {
		t.Fatalf("lock of an older agent: exit %d, %s", code, stderr)
	}

	run = filepath.Join(t.TempDir(), "run")
	stopped = fakeAgent(t, run, old)
	if _, stderr, code := kr(run, "agent", "start"); code != 0 || !isClosed(stopped) {
		t.Fatalf("agent start over an older agent: exit %d, %s", code, stderr)
	}
	if stdout, stderr, code := kr(run, "agent", "status"); code != 0 || !strings.Contains(stdout, "agent: running") {
		t.Fatalf("status of the agent started in its place: exit %d, %s%s", code, stdout, stderr)
	}
	if _, stderr, code := kr(run, "agent", "stop"); code != 0 {
		t.Fatalf("agent stop: exit %d, %s", code, stderr)
	}

	run = filepath.Join(t.TempDir(), "run")
	stopped = fakeAgent(t, run, agent.Version+1)
	if _, stderr, code := kr(run, "lock"); code != 1 || !strings.Contains(stderr, "newer than this kr's") ||
		!strings.Contains(stderr, "kr: hint:") || isClosed(stopped) {
		t.Fatalf("lock of a newer agent: exit %d, %s", code, stderr)
	}
	if _, stderr, code := kr(run, "agent", "stop"); code != 0 || !isClosed(stopped) {
		t.Fatalf("agent stop of a newer agent: exit %d, %s", code, stderr)
	}
}

// TestGetFromSilentAgentEndsAtTimeout: an agent that takes a read and
// never answers (one that asks nobody: it never says it is asking a
// person) makes kr get fail at --timeout, not at the longer wait kept for
// a person at the agent's dialog.
func TestGetFromSilentAgentEndsAtTimeout(t *testing.T) {
	vault, v := newTestVault(t)
	if err := v.Set(context.Background(), "x", []byte("value")); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	path, err := ipc.DefaultPath(func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": run}[k] })
	if err != nil {
		t.Fatal(err)
	}
	l, err := ipc.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reads := make(chan string, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				for {
					var hdr [4]byte
					if _, err := io.ReadFull(c, hdr[:]); err != nil {
						return
					}
					body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
					if _, err := io.ReadFull(c, body); err != nil {
						return
					}
					var req struct {
						Op      string `json:"op"`
						VaultID string `json:"vault_id"`
					}
					json.Unmarshal(body, &req)
					if req.Op == agent.OpDecrypt || req.Op == agent.OpCacheGet {
						reads <- req.Op
						continue // and never answer
					}
					// Every vault is unlocked, as far as kr can tell.
					out, _ := json.Marshal(map[string]any{"v": agent.Version, "status": map[string]any{"pid": 1, "vaults": []map[string]any{{"id": req.VaultID}}, "cached": []string{}}})
					if req.Op != agent.OpStatus {
						out, _ = json.Marshal(map[string]any{"v": agent.Version})
					}
					c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(out))), out...))
				}
			}()
		}
	}()
	cmd := krWithAgent(t, vault, run, t.TempDir(), "--timeout", "1s", "get", "x")
	stdout, stderr, code := runBounded(t, cmd) // fails the test past 30s
	if code != 4 || stdout != "" || !strings.Contains(stderr, "did not answer") {
		t.Fatalf("get through a silent agent: exit %d, %q, %s", code, stdout, stderr)
	}
	// The fake agent's goroutine reports the read on its own time: wait
	// for it (kr has exited, so it is sent or never will be).
	select {
	case <-reads:
	case <-time.After(30 * time.Second):
		t.Fatalf("kr get never asked the agent to read: exit %d, %s", code, stderr)
	}
}
