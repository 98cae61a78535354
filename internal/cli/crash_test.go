package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
)

// krCommand runs the kr CLI: this test binary, re-executed as kr.
func krCommand(t *testing.T, vault string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(),
		"KR_TEST_RUN_AS_KR=1", "KR_BACKEND=file", "KR_VAULT="+vault, "KR_NO_AGENT=1",
		"KR_PASSPHRASE=", "KR_PASSPHRASE_FILE=")
	return cmd
}

// crashValue is a self-describing value: a damaged or mixed value cannot
// pass for a whole one.
func crashValue(name string, gen int) []byte {
	head := fmt.Sprintf("%s gen %d [", name, gen)
	body := bytes.Repeat([]byte(fmt.Sprintf("%s/%d;", name, gen)), 200+gen%7*300)
	return append(append([]byte(head), body...), ']')
}

func newTestVault(t *testing.T) (string, *filevault.Vault) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	// As kr init does, the vault's key is recorded as accepted, in a
	// configuration directory of the test's own that the kr it runs uses.
	cfg := t.TempDir()
	t.Setenv("KR_CONFIG_DIR", cfg)
	rec := &recipients.Record{Path: filepath.Join(cfg, recipients.FileName)}
	v, err := filevault.Open(filevault.Options{Dir: dir, ScryptWorkFactor: 10, Accepted: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	r, err := filevault.Open(filevault.Options{Dir: dir, Accepted: rec, Decrypter: &filevault.PassphraseDecrypter{
		Passphrase: func(context.Context) ([]byte, error) { return []byte("pw"), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return dir, r
}

// TestKillDuringSet SIGKILLs `kr set` at random moments, 200 times, and
// checks after each kill that every secret reads back whole, with its old
// value or the new one.
func TestKillDuringSet(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL test is Unix-only")
	}
	if testing.Short() {
		t.Skip("slow")
	}
	dir, v := newTestVault(t)
	ctx := context.Background()
	names := []string{"crash/a", "crash/b", "crash/c"}
	current := map[string]int{}
	for _, n := range names {
		run(t, krCommand(t, dir, "set", n), crashValue(n, 0))
		current[n] = 0
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	killed, finished := 0, 0
	for i := 1; killed < 200; i++ {
		if i > 2000 {
			t.Fatalf("only %d of 2000 runs were killed before they finished", killed)
		}
		n := names[i%len(names)]
		cmd := krCommand(t, dir, "set", n)
		cmd.Stdin = bytes.NewReader(crashValue(n, i))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(8_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if err == nil {
			finished++
			current[n] = i
		} else {
			killed++
		}
		for _, m := range names {
			got, err := v.Get(ctx, m)
			if err != nil {
				t.Fatalf("run %d: after a kill, %s is unreadable: %v", i, m, err)
			}
			switch {
			case bytes.Equal(got, crashValue(m, current[m])):
			case m == n && bytes.Equal(got, crashValue(m, i)):
				current[m] = i // the kill came after the rename
			default:
				t.Fatalf("run %d: %s holds neither its old nor its new value (%d bytes: %.40q)", i, m, len(got), got)
			}
		}
	}
	t.Logf("%d runs killed, %d finished before the kill", killed, finished)
}

// TestConcurrentSets runs 20 `kr set` processes at once: different names
// all land, and writers of one name leave one whole value.
func TestConcurrentSets(t *testing.T) {
	dir, v := newTestVault(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			n := fmt.Sprintf("many/%02d", i)
			cmd := krCommand(t, dir, "set", n)
			cmd.Stdin = bytes.NewReader(crashValue(n, i))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("set %s: %v: %s", n, err, out)
			}
		}()
		go func() {
			defer wg.Done()
			cmd := krCommand(t, dir, "set", "one/name")
			cmd.Stdin = bytes.NewReader(crashValue("one/name", i))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("set one/name: %v: %s", err, out)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	names, err := v.List(ctx, "many/")
	if err != nil || len(names) != 20 {
		t.Fatalf("List(many/) = %d names, %v; want 20", len(names), err)
	}
	for i := range 20 {
		n := fmt.Sprintf("many/%02d", i)
		got, err := v.Get(ctx, n)
		if err != nil || !bytes.Equal(got, crashValue(n, i)) {
			t.Errorf("%s: %v, %d bytes", n, err, len(got))
		}
	}
	got, err := v.Get(ctx, "one/name")
	if err != nil {
		t.Fatal(err)
	}
	whole := false
	for i := range 20 {
		whole = whole || bytes.Equal(got, crashValue("one/name", i))
	}
	if !whole {
		t.Fatalf("one/name holds no writer's whole value: %.60q", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "secrets", "*", "*"))
	for _, l := range leftovers {
		if !strings.HasSuffix(l, ".age") {
			t.Errorf("left behind: %s", l)
		}
	}
}

func run(t *testing.T, cmd *exec.Cmd, stdin []byte) {
	t.Helper()
	cmd.Stdin = bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", cmd.Args, err, out)
	}
}
