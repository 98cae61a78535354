//go:build !windows

package sshagent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sshagent "golang.org/x/crypto/ssh/agent"

	"github.com/kr-keyring/kr/ipc"
)

// TestGuardBeforeSign: a signature asked for on the SSH socket goes
// through the Guard hook first, with the client's connection (whose
// peer the kernel names) and the key; a refusal is a failed signature.
func TestGuardBeforeSign(t *testing.T) {
	var mu sync.Mutex
	var pids []int
	var keys []string
	refuse := false
	s := New(Options{Guard: func(peer net.Conn, key string) error {
		mu.Lock()
		defer mu.Unlock()
		pid, err := ipc.PeerPID(peer)
		if err != nil {
			t.Errorf("the hook's peer names no process: %v", err)
		}
		pids, keys = append(pids, pid), append(keys, key)
		if refuse {
			return errors.New("no")
		}
		return nil
	}})
	priv, pub := newKey(t)
	if err := Load(s.Handle, priv, "work", false, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	l, err := ipc.Listen(filepath.Join(dir, "ssh.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, l, l.Addr().String()) }()
	defer func() { cancel(); <-done }()
	c, err := net.Dial("unix", filepath.Join(dir, "ssh.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := sshagent.NewClient(c)
	if _, err := client.Sign(pub, []byte("data")); err != nil {
		t.Fatalf("sign the hook allows: %v", err)
	}
	mu.Lock()
	refuse = true
	mu.Unlock()
	if _, err := client.Sign(pub, []byte("data")); err == nil {
		t.Fatal("a signature the hook refused was made")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pids) != 2 || pids[0] != os.Getpid() || !strings.Contains(keys[0], "work") || !strings.Contains(keys[0], "SHA256:") {
		t.Errorf("hook saw pids %v, keys %q", pids, keys)
	}
}
