package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestMlockRefused runs Harden and a whole unlock/decrypt as an
// unprivileged user whose RLIMIT_MEMLOCK is 0 (root would ignore the
// limit): memory cannot be locked, which must give one warning and keys in
// ordinary memory, never a panic.
func TestMlockRefused(t *testing.T) {
	if os.Getenv("KR_AGENT_TEST_MLOCK") == "1" {
		mlockRefusedChild(t)
		return
	}
	testenv.Root(t)
	for _, tool := range []string{"setpriv", "prlimit"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
	}
	dir, err := os.MkdirTemp("", "kr-mlock-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "agent.test")
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("prlimit", "--memlock=0:0", "--",
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		exe, "-test.run=^TestMlockRefused$", "-test.v")
	cmd.Env = append(os.Environ(), "KR_AGENT_TEST_MLOCK=1", "HOME="+dir, "GOCOVERDIR=")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMlockRefused") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func mlockRefusedChild(t *testing.T) {
	var lim unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim)
	if os.Getuid() == 0 || lim.Cur != 0 {
		t.Fatalf("child runs as uid %d with RLIMIT_MEMLOCK %d: not the case under test", os.Getuid(), lim.Cur)
	}
	locked, warning := Harden()
	if locked || !strings.Contains(warning, "cannot lock memory") {
		t.Fatalf("Harden = %v, %q; want false and a warning", locked, warning)
	}
	t.Logf("warning: %s", warning)
	id, wrapped := newIdentityFile(t, "pw")
	vault := id.Recipient().String()
	ct := encryptTo(t, id.Recipient(), "kr-secret/v1 x\nhello")
	// Ordinary buffers as Harden said; and locked buffers requested anyway
	// (as if the limit dropped after the probe) must not panic either.
	for _, lockedMemory := range []bool{false, true} {
		s := NewServer(Options{LockedMemory: lockedMemory})
		c := pipePair(t, s)
		if err := c.Unlock(vault, wrapped, []byte("pw"), time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		got, err := c.Decrypt(vault, ct)
		if err != nil || string(got) != "kr-secret/v1 x\nhello" {
			t.Fatalf("decrypt with LockedMemory %v: %q, %v", lockedMemory, got, err)
		}
		s.Wipe()
	}
}
