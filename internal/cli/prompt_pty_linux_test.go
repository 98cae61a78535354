package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kr-keyring/kr/backends/filevault"
)

// openPty opens a new pseudo-terminal pair: the test holds the master side
// and types on it; the program gets the slave as its controlling terminal.
// No test here ever reads the terminal the tests were started from.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		m.Close()
		t.Fatalf("pty: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ptySession is a program running as the session leader of a pty, with
// the pty as its stdin, stdout and stderr.
type ptySession struct {
	cmd    *exec.Cmd
	master *os.File
	chunks chan []byte
	seen   bytes.Buffer
}

func startOnPty(t *testing.T, env []string, name string, args ...string) *ptySession {
	t.Helper()
	master, slave := openPty(t)
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Only the program holds the slave now: when it and its children are
	// gone, reading the master fails and the reader below ends.
	slave.Close()
	s := &ptySession{cmd: cmd, master: master, chunks: make(chan []byte)}
	go func() {
		defer close(s.chunks)
		for {
			b := make([]byte, 4096)
			n, err := master.Read(b)
			if n > 0 {
				s.chunks <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return s
}

// waitFor reads the terminal until it has shown want; the program's own
// output is the only synchronisation.
func (s *ptySession) waitFor(t *testing.T, want string) {
	t.Helper()
	for !strings.Contains(s.seen.String(), want) {
		b, ok := <-s.chunks
		if !ok {
			t.Fatalf("the terminal never showed %q; it showed:\n%s", want, s.seen.String())
		}
		s.seen.Write(b)
	}
}

// finish reads the terminal to its end and waits for the program.
func (s *ptySession) finish(t *testing.T) (string, error) {
	t.Helper()
	for b := range s.chunks {
		s.seen.Write(b)
	}
	return s.seen.String(), s.cmd.Wait()
}

// krEnv is an environment in which "kr" runs this test binary as kr, on
// the file vault in dir, with no agent and no passphrase from the
// environment.
func krEnv(t *testing.T, dir string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "kr")); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + dir, "TERM=dumb", "LC_ALL=C",
		"KR_TEST_RUN_AS_KR=1", "KR_TEST_KEEP_TTY=1",
		"KR_BACKEND=file", "KR_VAULT=" + filepath.Join(dir, "vault"), "KR_NO_AGENT=1",
		"KR_CONFIG_DIR=" + filepath.Join(dir, "config"),
		"XDG_RUNTIME_DIR=" + dir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-bus"),
	}
	return env
}

// TestInterruptAtPromptRestoresEcho: Ctrl-C at the hidden passphrase
// prompt must give the terminal its echo back (dash and scripts do not
// restore it; bash hides the bug) and still end kr by SIGINT, so that the
// shell sees an interrupt (status 130) as it would for any program.
func TestInterruptAtPromptRestoresEcho(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	stty, err := exec.LookPath("stty")
	if err != nil {
		t.Skip("no stty")
	}
	dir := t.TempDir()
	v, err := filevault.Open(filevault.Options{Dir: filepath.Join(dir, "vault"), ScryptWorkFactor: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Init(context.Background(), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(context.Background(), "a", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// The shell must outlive the interrupt to run stty: a trap (not an
	// ignored signal, which kr would inherit) keeps it going.
	script := `trap 'echo shell saw SIGINT' INT
kr get a
echo "kr status $?"
` + stty + ` -a`
	s := startOnPty(t, krEnv(t, dir), sh, "-c", script)
	s.waitFor(t, "Passphrase of that vault: ")
	if _, err := s.master.Write([]byte{3}); err != nil { // ^C, as typed
		t.Fatal(err)
	}
	out, err := s.finish(t)
	if err != nil {
		t.Fatalf("sh: %v; terminal:\n%s", err, out)
	}
	if !strings.Contains(out, "kr status 130") {
		t.Errorf("kr did not end by SIGINT; terminal:\n%s", out)
	}
	_, settings, ok := strings.Cut(out, "kr status")
	if !ok || !strings.Contains(" "+strings.Join(strings.Fields(settings), " ")+" ", " echo ") {
		t.Errorf("echo is still off after ^C at the prompt; terminal:\n%s", out)
	}
}
