package pinentry

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPinentryDiesWithParent: a process that started a pinentry and is
// then killed (as a test kills an agent, or the agent crashes) takes the
// pinentry with it; before, the orphan stayed on its terminal for good.
func TestPinentryDiesWithParent(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	prog := filepath.Join(dir, "pinentry")
	script := "#!/bin/sh\necho $$ > " + pidFile + ".tmp && mv " + pidFile + ".tmp " + pidFile + "\nexec sleep 600\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	parent := exec.Command(exe)
	parent.Env = append(os.Environ(), "ORPHAN_PARENT_PINENTRY="+prog)
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Process.Kill()
	var pid int
	// Hang guards, not measures: they end as soon as the state is reached.
	for start := time.Now(); pid == 0; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the pinentry did not start")
		}
	}
	defer syscall.Kill(pid, syscall.SIGKILL)
	parent.Process.Kill()
	parent.Wait()
	for start := time.Now(); alive(pid); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > time.Minute {
			t.Fatalf("the pinentry (pid %d) outlived the process that started it", pid)
		}
	}
}

// alive reports whether pid runs: it exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
