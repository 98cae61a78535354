package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/testenv"
)

const memTestPass = "kr-memory-test-passphrase-7f3a9c1e"

// startAgent runs `kr agent serve` (this test binary as kr) with a private
// runtime dir and returns its pid; the agent is stopped when the test ends.
func startAgent(t *testing.T, runDir string, asNobody bool, exe string) int {
	t.Helper()
	var cmd *exec.Cmd
	if asNobody {
		cmd = exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, "agent", "serve")
	} else {
		cmd = exec.Command(exe, "agent", "serve")
	}
	// The configuration directory (the agent's settings and read log) is
	// the agent user's own, beside its runtime directory.
	cmd.Env = append(os.Environ(), "KR_TEST_RUN_AS_KR=1", "XDG_RUNTIME_DIR="+runDir, "KR_NO_AGENT=", "KR_PASSPHRASE=",
		"KR_CONFIG_DIR="+filepath.Join(runDir, "config"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sock := filepath.Join(runDir, "kr", "agent.sock")
	// A hang guard, not a measure: a busy machine may take seconds.
	for start := time.Now(); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatal("the agent did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if asNobody {
		// setpriv execs the agent in place: same pid.
		return cmd.Process.Pid
	}
	return cmd.Process.Pid
}

// TestAgentNotDumpable runs the agent as another user: with
// PR_SET_DUMPABLE 0 the kernel makes its /proc files root's, so that user's
// other processes cannot read its memory.
func TestAgentNotDumpable(t *testing.T) {
	testenv.Root(t)
	base, err := os.MkdirTemp("", "kr-dump-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	self, _ := os.Executable()
	data, _ := os.ReadFile(self)
	exe := filepath.Join(base, "kr.test")
	os.WriteFile(exe, data, 0o755)
	run := filepath.Join(base, "run")
	os.Mkdir(run, 0o700)
	os.Chown(run, 65534, 65534)
	pid := startAgent(t, run, true, exe)
	for _, f := range []string{"environ", "mem", "maps"} {
		fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 0 {
			t.Errorf("/proc/%d/%s is owned by uid %d: the agent (uid 65534) is dumpable", pid, f, st.Uid)
		}
	}
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if !bytes.Contains(status, []byte("Uid:\t65534")) {
		t.Fatalf("the agent does not run as 65534:\n%s", status)
	}
}

// TestAgentMemoryHoldsNoKey unlocks a vault in a running agent, then reads
// all of its memory as root (what a core dump would hold) and looks for the
// identity's text, its raw 32-byte scalar and the passphrase.
func TestAgentMemoryHoldsNoKey(t *testing.T) {
	testenv.Root(t)
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "vault")
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte(memTestPass)); err != nil {
		t.Fatal(err)
	}
	// What to look for: the identity's text and scalar, from identity.age.
	wrapped, _ := v.IdentityFile()
	sid, _ := age.NewScryptIdentity(memTestPass)
	r, err := age.Decrypt(bytes.NewReader(wrapped), sid)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(r)
	if err != nil {
		t.Fatal(err)
	}
	keyText := ids[0].(*age.X25519Identity).String()
	scalar := bech32Payload(t, keyText)

	run := filepath.Join(tmp, "run")
	os.Mkdir(run, 0o700)
	self, _ := os.Executable()
	pid := startAgent(t, run, false, self)
	unlock := krCommand(t, dir, "unlock", "--ttl", "10m")
	unlock.Env = append(unlock.Env, "KR_NO_AGENT=", "XDG_RUNTIME_DIR="+run, "KR_PASSPHRASE="+memTestPass)
	if out, err := unlock.CombinedOutput(); err != nil {
		t.Fatalf("unlock: %v: %s", err, out)
	}
	get := krCommand(t, dir, "set", "x")
	get.Stdin = strings.NewReader("v")
	get.Run()
	read := krCommand(t, dir, "get", "x")
	read.Env = append(read.Env, "KR_NO_AGENT=", "XDG_RUNTIME_DIR="+run)
	if out, err := read.Output(); err != nil || string(out) != "v" {
		t.Fatalf("get through the agent: %q, %v", out, err)
	}
	time.Sleep(200 * time.Millisecond)

	needles := map[string][]byte{
		"identity text (upper case)": []byte(keyText),
		"AGE-SECRET-KEY- prefix":     []byte("AGE-SECRET-KEY-"),
		"identity text (lower case)": []byte(strings.ToLower(keyText)),
		"raw 32-byte scalar":         scalar,
		"passphrase":                 []byte(memTestPass),
	}
	control := []byte(filepath.Join(run, "kr", "agent.sock"))
	sawControl := false
	total := dumpMemory(t, pid, func(region string, b []byte) {
		for what, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("the agent's memory holds the %s (in %s)", what, region)
			}
		}
		sawControl = sawControl || bytes.Contains(b, control)
	})
	t.Logf("scanned %d bytes of the agent's anonymous memory", total)
	// Control: the dump does see the agent's data (its socket path).
	if !sawControl {
		t.Fatal("control: the socket path is not in the dump; the scan proves nothing")
	}
}

// dumpMemory reads, as root through /proc/PID/mem, what a core dump holds
// by default (coredump_filter 0x33): anonymous memory, heap and stacks, not
// the program's own file, whose constants would match the searched strings.
// Reserved address space never touched (large PROT_NONE regions) is skipped;
// small unreadable ones (memguard's guard pages) are read too.
func dumpMemory(t *testing.T, pid int, scan func(region string, b []byte)) int {
	maps, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	mem, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	total := 0
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && !strings.HasPrefix(fields[5], "[heap]") && !strings.HasPrefix(fields[5], "[stack") && !strings.HasPrefix(fields[5], "[anon") {
			continue
		}
		lo, hi, _ := strings.Cut(fields[0], "-")
		start, _ := strconv.ParseUint(lo, 16, 64)
		end, _ := strconv.ParseUint(hi, 16, 64)
		if fields[1][0] != 'r' && end-start > 1<<20 {
			continue
		}
		buf := make([]byte, end-start)
		n, _ := mem.ReadAt(buf, int64(start))
		scan(sc.Text(), buf[:n])
		total += n
	}
	return total
}

// bech32Payload decodes the 32-byte scalar of an AGE-SECRET-KEY-1 string.
func bech32Payload(t *testing.T, s string) []byte {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	s = strings.ToLower(s)
	data := s[strings.LastIndexByte(s, '1')+1 : len(s)-6]
	var acc, bits uint
	var out []byte
	for _, c := range data {
		acc = acc<<5 | uint(strings.IndexRune(charset, c))
		bits += 5
		for bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if len(out) != 32 {
		t.Fatalf("scalar of %d bytes", len(out))
	}
	return out
}

// TestAgentSmallAfterUnlock: the agent unwraps identity.age with scrypt at
// kr's own work factor (2^18: a 256 MiB table) and keeps none of it
// resident: right after `kr unlock` answers, and after three wrong
// passphrases, it holds at most 32 MiB (it held 270 MB, then 535 MB, for
// minutes, while the Go heap kept the tables).
func TestAgentSmallAfterUnlock(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "vault")
	v, err := filevault.Open(filevault.Options{Dir: dir}) // kr's own cost: the subject
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte(memTestPass)); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(tmp, "run")
	os.Mkdir(run, 0o700)
	self, _ := os.Executable()
	pid := startAgent(t, run, false, self)
	unlock := func(pass string) ([]byte, error) {
		cmd := krCommand(t, dir, "unlock", "--ttl", "10m")
		cmd.Env = append(cmd.Env, "KR_NO_AGENT=", "XDG_RUNTIME_DIR="+run, "KR_PASSPHRASE="+pass)
		return cmd.CombinedOutput()
	}
	const most = 32 << 20
	if out, err := unlock(memTestPass); err != nil {
		t.Fatalf("unlock: %v: %s", err, out)
	}
	if rss := vmRSS(t, pid); rss > most {
		t.Errorf("after an unlock the agent holds %d MiB resident, want at most %d", rss>>20, most>>20)
	} else {
		t.Logf("after an unlock: %d KiB resident", rss>>10)
	}
	for range 3 {
		if out, err := unlock("wrong " + memTestPass); err == nil || !strings.Contains(string(out), "wrong passphrase") {
			t.Fatalf("unlock with a wrong passphrase: %v: %s", err, out)
		}
	}
	if rss := vmRSS(t, pid); rss > most {
		t.Errorf("after three wrong passphrases the agent holds %d MiB resident, want at most %d", rss>>20, most>>20)
	} else {
		t.Logf("after three wrong passphrases: %d KiB resident", rss>>10)
	}
}

// vmRSS reads a process's resident set size from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmRSS line %q", line)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
