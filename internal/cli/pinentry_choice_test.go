package cli

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestPinentryChoice: which pinentry runs is the user's (KR_PINENTRY,
// "never" for none); else the system's on a desktop only.
func TestPinentryChoice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the desktop rule checked here is the Linux one")
	}
	bin := t.TempDir()
	fake := filepath.Join(bin, "pinentry")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, ""},
		{map[string]string{"DISPLAY": ":0"}, fake},
		{map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, fake},
		{map[string]string{"DISPLAY": ":0", "KR_PINENTRY": "never"}, ""},
		{map[string]string{"KR_PINENTRY": fake}, fake},
		{map[string]string{"KR_PINENTRY": "pinentry"}, fake},
	} {
		e := newTestEnv(t, "", false, c.env)
		got, err := e.app.pinentryProgram()
		if err != nil || got != c.want {
			t.Errorf("%v: %q, %v; want %q", c.env, got, err, c.want)
		}
		if e.app.canAsk() != (c.want != "") {
			t.Errorf("%v: canAsk %v", c.env, e.app.canAsk())
		}
	}
	e := newTestEnv(t, "", false, map[string]string{"KR_PINENTRY": filepath.Join(bin, "missing")})
	if _, err := e.app.pinentryProgram(); err == nil || !strings.Contains(err.Error(), "KR_PINENTRY") {
		t.Errorf("a missing KR_PINENTRY: %v", err)
	}
	for v, want := range map[string]time.Duration{"": 2 * time.Minute, "90s": 90 * time.Second} {
		e := newTestEnv(t, "", false, map[string]string{"KR_PROMPT_TIMEOUT": v})
		if got, err := e.app.promptTimeout(); err != nil || got != want {
			t.Errorf("KR_PROMPT_TIMEOUT=%q: %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"soon", "0", "-1s"} {
		e := newTestEnv(t, "", false, map[string]string{"KR_PROMPT_TIMEOUT": v})
		var ue *usageError
		if _, err := e.app.promptTimeout(); !errors.As(err, &ue) {
			t.Errorf("KR_PROMPT_TIMEOUT=%q: %v, want a usage error", v, err)
		}
	}
}

// TestSharedVaultPromptNamesIdentity: a shared vault is read with the
// user's own identity, and the prompt says so.
func TestSharedVaultPromptNamesIdentity(t *testing.T) {
	e := newTestEnv(t, "", false, nil)
	e.app.requester = "docker"
	p := e.app.unlockPrompt("/v", "age1xyz", true, "reg/u", "read from %s")
	if !strings.HasPrefix(p.about, "docker asks for the secret reg/u from the shared vault /v with your identity, key ") ||
		p.label != "Passphrase of your identity: " {
		t.Errorf("%+v", p)
	}
}
