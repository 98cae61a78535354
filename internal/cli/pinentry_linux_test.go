package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// These tests run kr with no controlling terminal (setsid), as under an
// editor, a GUI git client or a desktop launcher, with Debian's own
// pinentry programs; the passphrase is typed into them as a person would.

// startXvfb starts a virtual X server and returns its display. Xvfb
// writes the display number on -displayfd once it accepts connections.
func startXvfb(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "Xvfb", "xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// -noreset: by default the server regenerates when its last client
	// leaves, and a client that connects meanwhile (the next xdotool, as a
	// dialog closes) is refused with "Can't open display".
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-noreset", "-screen", "0", "800x600x24")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatal("Xvfb did not start")
		}
		return ":" + n
	case <-time.After(60 * time.Second):
		t.Fatal("Xvfb did not start within a minute")
	}
	return ""
}

// TestXvfbServesBetweenClients: clients that come and go at once, as
// xdotool and the dialogs do, are each served by the test's display.
func TestXvfbServesBetweenClients(t *testing.T) {
	testenv.Tool(t, "xdotool", "xdotool")
	display := startXvfb(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 60 {
				cmd := exec.Command("xdotool", "getmouselocation")
				cmd.Env = append(os.Environ(), "DISPLAY="+display)
				if out, err := cmd.CombinedOutput(); err != nil {
					errs <- fmt.Errorf("%v: %s", err, out)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("a client was refused: %v", err)
		}
	}
}

// loggingPinentry is a pinentry that is program, with every command kr
// sends it appended to log (what goes back, the passphrase, is not).
func loggingPinentry(t *testing.T, dir, program string) (path, log string) {
	t.Helper()
	path = filepath.Join(dir, "pinentry-logged")
	log = filepath.Join(dir, "pinentry.log")
	script := "#!/bin/sh\ntee -a '" + log + "' | '" + program + "' \"$@\"\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path, log
}

// setsidRun is a program started with no controlling terminal.
type setsidRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	cancel         context.CancelFunc
}

func startSetsid(t *testing.T, env []string, dir, stdin, name string, args ...string) *setsidRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	r := &setsidRun{cancel: cancel}
	r.cmd = exec.CommandContext(ctx, name, args...)
	r.cmd.Env, r.cmd.Dir = env, dir
	r.cmd.Stdin = strings.NewReader(stdin)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); r.cmd.Wait() })
	return r
}

// wait returns the exit code.
func (r *setsidRun) wait(t *testing.T) int {
	t.Helper()
	err := r.cmd.Wait()
	r.cancel()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// xdotool runs xdotool on display; "search --sync" waits for the window.
func xdotool(t *testing.T, display string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

// answerDialog waits for kr's pinentry window (titled "kr") and types
// keys into it: the dialog grabs the keyboard, as it does for a person.
func answerDialog(t *testing.T, display string, keys ...string) {
	t.Helper()
	xdotool(t, display, "search", "--sync", "--onlyvisible", "--name", "^kr$")
	for _, k := range keys {
		if strings.HasPrefix(k, "key:") {
			xdotool(t, display, "key", strings.TrimPrefix(k, "key:"))
		} else {
			xdotool(t, display, "type", "--delay", "20", k)
		}
	}
}

func readLog(t *testing.T, log string) string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(log)
	return string(b)
}

// TestPinentryDesktopNoTerminal: with no terminal and a display, kr get
// and git (through git-credential-kr) read a locked file vault with the
// passphrase typed into Debian's pinentry-gtk-2. The dialog says who asks
// (git) for which secret from which vault and key; Escape is exit 4 with
// nothing on stdout, and git gets no password.
func TestPinentryDesktopNoTerminal(t *testing.T) {
	testenv.Tool(t, "xdotool", "xdotool")
	gtk := testenv.Tool(t, "pinentry-gtk-2", "pinentry-gtk2")
	display := startXvfb(t)
	g := newGitEnv(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	g.ok(t, "", exe, "setup", "git", "--apply")
	g.ok(t, "protocol=https\nhost=example.com\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	g.ok(t, "the value", exe, "set", "app/token")
	prog, log := loggingPinentry(t, g.dir, gtk)
	env := append(append([]string(nil), g.env...), "KR_PASSPHRASE=", "DISPLAY="+display, "KR_PINENTRY="+prog)
	vault := filepath.Join(g.dir, "vault")

	// kr get
	r := startSetsid(t, env, g.dir, "", exe, "get", "app/token")
	answerDialog(t, display, "test passphrase", "key:Return")
	if code := r.wait(t); code != 0 || r.stdout.String() != "the value" {
		t.Fatalf("kr get: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	desc := readLog(t, log)
	want := "SETDESC " + filepath.Base(os.Args[0]) + " (pid "
	if !strings.Contains(desc, want) || !strings.Contains(desc, " asks for the secret app/token from the vault "+vault+", key ") {
		t.Errorf("the dialog did not name the program, the secret, the vault and its key:\n%s", desc)
	}

	// git credential fill, through git-credential-kr
	fill := "protocol=https\nhost=example.com\nusername=alice\n\n"
	r = startSetsid(t, env, g.dir, fill, "git", "credential", "fill")
	answerDialog(t, display, "test passphrase", "key:Return")
	if code := r.wait(t); code != 0 || !strings.Contains(r.stdout.String(), "password=s3cret\n") {
		t.Fatalf("git credential fill: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	desc = readLog(t, log)
	if !strings.Contains(desc, "SETDESC git asks for the secret ") || !strings.Contains(desc, "example.com") ||
		!strings.Contains(desc, " from the vault "+vault+", key ") {
		t.Errorf("the dialog did not say that git asks, for which login, from which vault and key:\n%s", desc)
	}

	// Escape: exit 4, nothing on stdout; git gets no password
	r = startSetsid(t, env, g.dir, "", exe, "get", "app/token")
	answerDialog(t, display, "key:Escape")
	if code := r.wait(t); code != 4 || r.stdout.Len() != 0 || !strings.Contains(r.stderr.String(), "dismissed") {
		t.Errorf("kr get, Escape: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	r = startSetsid(t, env, g.dir, fill, filepath.Join(g.dir, "bin", "git-credential-kr"), "get")
	answerDialog(t, display, "key:Escape")
	if code := r.wait(t); code != 4 || r.stdout.Len() != 0 {
		t.Errorf("git-credential-kr get, Escape: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	r = startSetsid(t, env, g.dir, fill, "git", "credential", "fill")
	answerDialog(t, display, "key:Escape")
	if code := r.wait(t); code == 0 || strings.Contains(r.stdout.String(), "password=") {
		t.Errorf("git credential fill, Escape: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
}

// TestPinentryCursesRetry: with no controlling terminal but GPG_TTY
// naming a terminal, pinentry-curses asks there; a wrong passphrase is
// asked again with the error in the dialog (SETERROR), then the right one
// reads the secret.
func TestPinentryCursesRetry(t *testing.T) {
	curses := testenv.Tool(t, "pinentry-curses", "pinentry-curses")
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := krEnv(t, dir)
	set := startSetsid(t, append(env, "KR_PASSPHRASE=pw"), dir, "the value", exe, "set", "app/token")
	if code := set.wait(t); code != 0 {
		t.Fatalf("kr set: exit %d: %s", code, set.stderr.String())
	}
	master, slave := openPty(t)
	prog, log := loggingPinentry(t, dir, curses)
	env = append(env, "KR_PINENTRY="+prog, "GPG_TTY="+slave.Name(), "TERM=vt100")
	screen := make(chan []byte)
	go func() {
		defer close(screen)
		for {
			b := make([]byte, 4096)
			n, err := master.Read(b)
			if n > 0 {
				screen <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	var seen bytes.Buffer
	var r *setsidRun
	waitFor := func(want string) {
		t.Helper()
		guard := time.After(15 * time.Second) // a hang guard only
		for !strings.Contains(seen.String(), want) {
			var b []byte
			ok := true
			select {
			case b, ok = <-screen:
			case <-guard:
				ok = false
			}
			if !ok {
				t.Fatalf("the terminal never showed %q; it showed:\n%q\nkr's stderr: %s", want, seen.String(), r.stderr.String())
			}
			seen.Write(b)
		}
	}
	r = startSetsid(t, env, dir, "", exe, "get", "app/token")
	waitFor("asks for the secret app/token")
	master.Write([]byte("wrong\r"))
	waitFor("Wrong passphrase, try again")
	master.Write([]byte("pw\r"))
	if code := r.wait(t); code != 0 || r.stdout.String() != "the value" {
		t.Fatalf("kr get: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	got := readLog(t, log)
	if strings.Count(got, "GETPIN") != 2 || strings.Count(got, "SETERROR Wrong passphrase, try again.") != 1 ||
		!strings.Contains(got, "OPTION ttyname="+slave.Name()) {
		t.Errorf("pinentry-curses was not asked twice, the second time with the error:\n%s", got)
	}
}

// TestPinentryUnanswered: a dialog nobody answers ends at the prompt's
// own timeout (KR_PROMPT_TIMEOUT) with exit 4: not at --timeout, which
// bounds waits on other programs, whether it is shorter or longer, and
// not before.
func TestPinentryUnanswered(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := krEnv(t, dir)
	set := startSetsid(t, append(env, "KR_PASSPHRASE=pw"), dir, "the value", exe, "set", "app/token")
	if code := set.wait(t); code != 0 {
		t.Fatalf("kr set: exit %d: %s", code, set.stderr.String())
	}
	// A pinentry that shows its dialog (it takes GETPIN) and never answers.
	log := filepath.Join(dir, "asked")
	silent := filepath.Join(dir, "pinentry-silent")
	script := `#!/bin/sh
echo "OK Pleased to meet you"
while read -r line; do
	case $line in
	GETPIN*) echo GETPIN >>'` + log + `'; while read -r x; do :; done; exit 0 ;;
	*) echo OK ;;
	esac
done
`
	if err := os.WriteFile(silent, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	env = append(env, "KR_PINENTRY="+silent)
	for _, c := range []struct{ prompt, timeout string }{
		{"2s", "1h"},    // --timeout far longer: the prompt's own limit ends it
		{"3s", "200ms"}, // --timeout far shorter: it does not cut the prompt off
	} {
		limit, _ := time.ParseDuration(c.prompt)
		start := time.Now()
		r := startSetsid(t, append(env, "KR_PROMPT_TIMEOUT="+c.prompt), dir, "", exe, "--timeout", c.timeout, "get", "app/token")
		code := r.wait(t)
		took := time.Since(start)
		if code != 4 || r.stdout.Len() != 0 {
			t.Errorf("prompt %s, --timeout %s: exit %d, stdout %q, stderr %q", c.prompt, c.timeout, code, r.stdout.String(), r.stderr.String())
		}
		if took < limit {
			t.Errorf("prompt %s, --timeout %s: ended after %v, before the prompt's timeout", c.prompt, c.timeout, took)
		}
		if !strings.Contains(r.stderr.String(), "nobody answered") || !strings.Contains(r.stderr.String(), "KR_PROMPT_TIMEOUT") ||
			strings.Contains(r.stderr.String(), "--timeout") {
			t.Errorf("prompt %s, --timeout %s: stderr %q, want the prompt's timeout named", c.prompt, c.timeout, r.stderr.String())
		}
		if got := readLog(t, log); got != "GETPIN\n" {
			t.Errorf("the dialog was not shown once: %q", got)
		}
	}
}

// TestPinentryNewPassphrase: with no terminal, kr init asks for the new
// passphrase in a dialog that takes it twice (SETREPEAT), and that is the
// passphrase of the new vault.
func TestPinentryNewPassphrase(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "asked")
	answers := filepath.Join(dir, "pinentry-answers")
	script := `#!/bin/sh
echo "OK Pleased to meet you"
while read -r line; do
	echo "$line" >>'` + log + `'
	case $line in
	GETPIN*) echo "S PIN_REPEATED"; echo "D new%25pw"; echo OK ;;
	BYE*) echo OK; exit 0 ;;
	*) echo OK ;;
	esac
done
`
	if err := os.WriteFile(answers, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(krEnv(t, dir), "KR_PINENTRY="+answers)
	r := startSetsid(t, env, dir, "", exe, "init")
	if code := r.wait(t); code != 0 || r.stdout.Len() == 0 {
		t.Fatalf("kr init: exit %d, stdout %q, stderr %q", code, r.stdout.String(), r.stderr.String())
	}
	got := readLog(t, log)
	if !strings.Contains(got, "SETDESC ") || !strings.Contains(got, " asks to create a vault in "+filepath.Join(dir, "vault")) ||
		!strings.Contains(got, "SETPROMPT New vault passphrase:") || !strings.Contains(got, "SETREPEAT Repeat the vault passphrase:") {
		t.Errorf("the dialog got:\n%s", got)
	}
	r = startSetsid(t, env, dir, "v", exe, "set", "a")
	if code := r.wait(t); code != 0 {
		t.Fatalf("kr set: exit %d: %s", code, r.stderr.String())
	}
	r = startSetsid(t, append(env, "KR_PASSPHRASE=new%pw"), dir, "", exe, "get", "a")
	if code := r.wait(t); code != 0 || r.stdout.String() != "v" {
		t.Fatalf("kr get with the new passphrase: exit %d, %q, %s", code, r.stdout.String(), r.stderr.String())
	}
}
