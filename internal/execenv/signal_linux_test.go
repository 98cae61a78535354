package execenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary plays two parts, chosen by KR_EXECENV_HELPER: "runner" is
// kr (Run with signal forwarding), "child" counts the SIGINTs it gets.
func TestMain(m *testing.M) {
	switch os.Getenv("KR_EXECENV_HELPER") {
	case "runner":
		self, _ := os.Executable()
		st, err := Run(Options{
			Path: self, Args: []string{self}, Env: append(os.Environ(), "KR_EXECENV_HELPER=child"),
			Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		})
		if err != nil {
			fmt.Println("runner:", err)
			os.Exit(1)
		}
		os.Exit(st.Code)
	case "child":
		c := make(chan os.Signal, 8)
		signal.Notify(c, syscall.SIGINT)
		fmt.Println("ready")
		select {
		case <-c:
		case <-time.After(20 * time.Second):
			fmt.Println("got 0")
			os.Exit(0)
		}
		// A forwarded duplicate follows within microseconds; wait well past.
		time.Sleep(500 * time.Millisecond)
		fmt.Printf("got %d\n", 1+len(c))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// openPty returns a new pseudo-terminal's two ends.
func openPty(t *testing.T) (master, slave *os.File) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// waitLine reads lines from r until one starts with prefix.
func waitLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", prefix)
			}
			if i := strings.Index(l, prefix); i >= 0 {
				return strings.TrimSpace(l[i:])
			}
		case <-timeout:
			t.Fatalf("no %q within 30 s", prefix)
		}
	}
}

func readLines(f *os.File) <-chan string {
	c := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			c <- sc.Text()
		}
		close(c)
	}()
	return c
}

// Ctrl-C on a terminal reaches the child once: from the terminal, not again
// from kr.
func TestCtrlCReachesChildOnce(t *testing.T) {
	master, slave := openPty(t)
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "KR_EXECENV_HELPER=runner")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	lines := readLines(master)
	waitLine(t, lines, "ready")
	if _, err := master.Write([]byte{0x03}); err != nil { // the terminal's VINTR
		t.Fatal(err)
	}
	if got := waitLine(t, lines, "got "); got != "got 1" {
		t.Errorf("the child saw %q SIGINTs after one Ctrl-C, want 1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runner: %v", err)
	}
}

// Without a terminal, a SIGINT sent to kr is passed on to the child.
func TestKillIntForwardedWithoutTerminal(t *testing.T) {
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "KR_EXECENV_HELPER=runner")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(out.(*os.File))
	waitLine(t, lines, "ready")
	cmd.Process.Signal(syscall.SIGINT)
	if got := waitLine(t, lines, "got "); got != "got 1" {
		t.Errorf("the child saw %q SIGINTs after kill -INT to kr, want 1", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("runner: %v", err)
	}
}
