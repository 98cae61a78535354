//go:build windows

package sshagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	sshagent "golang.org/x/crypto/ssh/agent"

	"github.com/kr-keyring/kr/ipc"
)

// TestPipeListsKeys: an SSH agent protocol client lists the keys over the
// named pipe, OpenSSH's when it is free, else the configured one.
func TestPipeListsKeys(t *testing.T) {
	s := New(Options{})
	priv, pub := newKey(t)
	if err := Load(s.Handle, priv, "work", false, time.Hour, 0); err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	fallback := `\\.\pipe\kr-ssh-test-` + hex.EncodeToString(b[:])
	getenv := func(k string) string {
		if k == "KR_SSH_PIPE" {
			return fallback
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l1, addr1, err := Listen(`\\.\pipe\kr-agent-test`, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if addr1 != OpenSSHPipe {
		t.Fatalf("listening on %s, want OpenSSH's pipe while it is free", addr1)
	}
	go s.Serve(ctx, l1, addr1)
	l2, addr2, err := Listen(`\\.\pipe\kr-agent-test`, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if addr2 != fallback {
		t.Fatalf("with OpenSSH's pipe taken: %s, want %s", addr2, fallback)
	}
	go s.Serve(ctx, l2, addr2)
	for _, addr := range []string{addr1, addr2} {
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := ipc.Dial(dctx, addr)
		dcancel()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := sshagent.NewClient(c).List()
		c.Close()
		if err != nil || len(keys) != 1 || string(keys[0].Blob) != string(pub.Marshal()) || keys[0].Comment != "work" {
			t.Fatalf("%s lists %v (%v)", addr, keys, err)
		}
	}
}
