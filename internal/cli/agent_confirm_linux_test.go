package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/testenv"
)

// TestAgentConfirmsEachProgram: with kr agent start --confirm, the agent
// asks (pinentry-curses on a terminal it was given, GPG_TTY) before a
// program's first read after an unlock, naming the program's path and the
// secret. "Allow until lock" lets that program's next read through
// unasked; another executable asks again; "Deny" is exit 4 with nothing
// on stdout; "Allow once" is asked again next time; a lock forgets the
// answers. kr exec's reads are the program it runs: allowing it allows
// neither the shell that ran kr exec nor another program kr exec runs
// from there. kr agent log then lists every read with its program and
// decision, and the log file holds no value.
func TestAgentConfirmsEachProgram(t *testing.T) {
	curses := testenv.Tool(t, "pinentry-curses", "pinentry-curses")
	dash := testenv.Tool(t, "/usr/bin/dash", "dash")
	bash := testenv.Tool(t, "/usr/bin/bash", "bash")
	printenv := testenv.Tool(t, "/usr/bin/printenv", "coreutils")
	envProg := testenv.Tool(t, "/usr/bin/env", "coreutils")
	dir := t.TempDir()
	master, slave := openPty(t)
	prog, log := loggingPinentry(t, dir, curses)
	env := append(krEnv(t, dir), "KR_NO_AGENT=", "KR_PINENTRY="+prog, "GPG_TTY="+slave.Name(), "TERM=vt100")
	const value = "the value 7f3a"
	kr := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command("kr", args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(stdin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return runBounded(t, cmd)
	}
	mustKr := func(stdin string, args ...string) {
		t.Helper()
		if _, stderr, code := kr(stdin, args...); code != 0 {
			t.Fatalf("kr %v: exit %d: %s", args, code, stderr)
		}
	}
	// kr init needs the passphrase twice; KR_PASSPHRASE gives it.
	env = append(env, "KR_PASSPHRASE=pw")
	mustKr("", "init")
	mustKr(value, "set", "app/token")
	mustKr("", "agent", "start", "--confirm", "--lock-on", "none")
	t.Cleanup(func() { kr("", "agent", "stop") })
	mustKr("", "unlock")
	env = append(env, "KR_PASSPHRASE=") // from here on only the agent reads

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
	dialogs := 0
	// answer waits for the next dialog to be drawn and types keys: Enter
	// on the first button (allow until lock), Tab Enter on the second
	// (allow once), Tab Tab Enter on the third (deny).
	answer := func(keys string) {
		t.Helper()
		dialogs++
		guard := time.After(30 * time.Second) // a hang guard only
		// The description is drawn once per dialog (a button is drawn
		// again as the focus moves).
		for strings.Count(seen.String(), "asks to read") < dialogs {
			select {
			case b, ok := <-screen:
				if !ok {
					t.Fatalf("the terminal closed; it showed %q", seen.String())
				}
				seen.Write(b)
			case <-guard:
				t.Fatalf("no dialog %d; the terminal showed %q", dialogs, seen.String())
			}
		}
		master.Write([]byte(keys))
	}
	const (
		allowUntilLock = "\r"
		allowOnce      = "\t\r"
		deny           = "\t\t\r"
	)
	// run runs script with shell, answering a dialog with keys unless
	// keys is "".
	run := func(shell, script, keys string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(shell, "-c", script+"; exit $?")
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if keys != "" {
			answer(keys)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(90 * time.Second): // a hang guard only
			cmd.Process.Kill()
			t.Fatalf("%s: kr get hung; stderr %s", shell, errb.String())
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	}
	// read runs kr get from shell: the program kr serves is shell.
	read := func(shell, keys string) (string, string, int) {
		t.Helper()
		return run(shell, "kr get app/token", keys)
	}
	confirms := func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\nCONFIRM")
	}
	steps := []struct {
		what, shell, keys string
		allowed           bool
		asks              bool
	}{
		{"dash's first read asks; allowed until lock", dash, allowUntilLock, true, true},
		{"dash's second read does not ask", dash, "", true, false},
		{"bash is another executable: it asks; denied", bash, deny, false, true},
		{"bash asks again after a deny; allowed once", bash, allowOnce, true, true},
		{"allowed once is not remembered; denied", bash, deny, false, true},
	}
	asked := 0
	for _, s := range steps {
		out, stderr, code := read(s.shell, s.keys)
		if s.asks {
			asked++
		}
		if s.allowed && (code != 0 || out != value) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", s.what, code, out, stderr)
		}
		if !s.allowed && (code != 4 || out != "" || !strings.Contains(stderr, "may not read app/token")) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit 4, nothing on stdout", s.what, code, out, stderr)
		}
		if got := confirms(); got != asked {
			t.Fatalf("%s: %d dialogs so far, want %d", s.what, got, asked)
		}
	}
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "SETDESC "+dash+" asks to read app/token.") || !strings.Contains(string(b), "SETDESC "+bash+" asks to read app/token.") {
		t.Errorf("the dialogs do not name the program and the secret:\n%s", b)
	}
	// A lock forgets the answers: dash asks again after kr lock + unlock.
	mustKr("", "lock")
	env = append(env, "KR_PASSPHRASE=pw")
	mustKr("", "unlock")
	env = append(env, "KR_PASSPHRASE=")
	if out, stderr, code := read(dash, allowUntilLock); code != 0 || out != value {
		t.Fatalf("dash after a lock: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if asked++; confirms() != asked {
		t.Fatalf("dash was not asked again after the lock")
	}

	// kr exec reads for the program it runs, which kr names; the shell
	// that ran kr exec gets nothing from an answer about that program.
	execSteps := []struct {
		what, script, keys string
		out                string // "" for a refusal
		asks               bool
	}{
		{"printenv run by kr exec from bash asks; allowed until lock", "kr exec -e T=app/token -- printenv T", allowUntilLock, value + "\n", true},
		{"printenv run by kr exec again does not ask", "kr exec -e T=app/token -- printenv T", "", value + "\n", false},
		{"bash itself was not allowed: it asks; denied", "kr get app/token", deny, "", true},
		{"env run by kr exec is another program: it asks; denied", "kr exec -e T=app/token -- env", deny, "", true},
	}
	for _, s := range execSteps {
		out, stderr, code := run(bash, s.script, s.keys)
		if s.asks {
			asked++
		}
		if s.out != "" && (code != 0 || out != s.out) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", s.what, code, out, stderr)
		}
		if s.out == "" && (code != 4 || out != "" || !strings.Contains(stderr, "may not read app/token")) {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q; want exit 4, nothing on stdout", s.what, code, out, stderr)
		}
		if got := confirms(); got != asked {
			t.Fatalf("%s: %d dialogs so far, want %d", s.what, got, asked)
		}
	}
	b, _ = os.ReadFile(log)
	if !strings.Contains(string(b), "SETDESC "+printenv+" (run by kr exec from "+bash+") asks to read app/token.") {
		t.Errorf("the dialog does not name the program kr exec runs and what ran it:\n%s", b)
	}

	// The read log lists every read, with its program and decision.
	out, stderr, code := kr("", "agent", "log", "--json")
	if code != 0 {
		t.Fatalf("kr agent log: exit %d: %s", code, stderr)
	}
	var reads []struct {
		Name, Program, Decision string
		RunBy                   string `json:"run_by"`
		PID                     int
	}
	if err := json.Unmarshal([]byte(out), &reads); err != nil {
		t.Fatalf("kr agent log --json: %v\n%s", err, out)
	}
	want := []string{
		dash + " allowed until lock", dash + " allowed earlier", bash + " denied",
		bash + " allowed once", bash + " denied", dash + " allowed until lock",
		printenv + " allowed until lock, run by " + bash, printenv + " allowed earlier, run by " + bash,
		bash + " denied", envProg + " denied, run by " + bash,
	}
	var got []string
	for _, r := range reads {
		if r.Name != "app/token" || r.PID <= 0 {
			t.Errorf("log entry %+v", r)
		}
		g := r.Program + " " + r.Decision
		if r.RunBy != "" {
			g += ", run by " + r.RunBy
		}
		got = append(got, g)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("kr agent log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	text, _, _ := kr("", "agent", "log")
	if !strings.Contains(text, "app/token  "+bash) || !strings.Contains(text, "denied") {
		t.Errorf("kr agent log:\n%s", text)
	}
	path := filepath.Join(dir, "config", "agent-reads.log")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s is %v, want 0600", path, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte(value)) || bytes.Contains(raw, []byte("7f3a")) {
		t.Errorf("the read log holds the value:\n%s", raw)
	}
}

// TestAgentConfirmWithoutDialog: with --confirm and no dialog the agent
// can show, a read is refused at once (exit 4, never a wait); a rule from
// kr agent allow lets the program read the names it covers unasked.
func TestAgentConfirmWithoutDialog(t *testing.T) {
	dash := testenv.Tool(t, "/usr/bin/dash", "dash")
	dir := t.TempDir()
	env := append(krEnv(t, dir), "KR_NO_AGENT=", "KR_PINENTRY=never", "KR_PASSPHRASE=pw")
	run := func(name string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return runBounded(t, cmd)
	}
	for _, args := range [][]string{{"init"}, {"agent", "start", "--confirm", "--lock-on", "none"}, {"unlock"}} {
		if _, stderr, code := run("kr", args...); code != 0 {
			t.Fatalf("kr %v: exit %d: %s", args, code, stderr)
		}
	}
	t.Cleanup(func() { run("kr", "agent", "stop") })
	for _, n := range []string{"app/token", "db/prod"} {
		cmd := exec.Command("kr", "set", n)
		cmd.Env, cmd.Stdin = env, strings.NewReader("v-"+n)
		if _, stderr, code := runBounded(t, cmd); code != 0 {
			t.Fatalf("kr set: %s", stderr)
		}
	}
	env = append(env, "KR_PASSPHRASE=")
	out, stderr, code := run(dash, "-c", "kr get app/token")
	if code != 4 || out != "" || !strings.Contains(stderr, "no pinentry to ask with") {
		t.Fatalf("a read nobody can be asked about: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if _, stderr, code := run("kr", "agent", "allow", dash, "app/"); code != 0 {
		t.Fatalf("kr agent allow: exit %d: %s", code, stderr)
	}
	if out, stderr, code := run(dash, "-c", "kr get app/token"); code != 0 || out != "v-app/token" {
		t.Errorf("a read the rule covers: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if out, _, code := run(dash, "-c", "kr get db/prod"); code != 4 || out != "" {
		t.Errorf("a read the rule does not cover: exit %d, stdout %q", code, out)
	}
	text, _, _ := run("kr", "agent", "log")
	if !strings.Contains(text, "app/token  "+dash) || !strings.Contains(text, "allowed by rule") {
		t.Errorf("kr agent log:\n%s", text)
	}
}

// TestAgentNamesGitForItsHelper: kr run by git as its credential helper
// reads for git, its parent: a read the agent cannot ask about is refused
// and logged as git's, and a rule for git's executable lets git read.
func TestAgentNamesGitForItsHelper(t *testing.T) {
	testenv.Tool(t, "git", "git")
	dir := t.TempDir()
	env := append(krEnv(t, dir), "KR_NO_AGENT=", "KR_PINENTRY=never", "KR_PASSPHRASE=pw",
		"GIT_CONFIG_GLOBAL="+filepath.Join(dir, "gitconfig"), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0")
	if err := os.Symlink("kr", filepath.Join(dir, "bin", "git-credential-kr")); err != nil {
		t.Fatal(err)
	}
	run := func(stdin, name string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return runBounded(t, cmd)
	}
	must := func(stdin, name string, args ...string) string {
		t.Helper()
		out, stderr, code := run(stdin, name, args...)
		if code != 0 {
			t.Fatalf("%s %v: exit %d: %s", name, args, code, stderr)
		}
		return out
	}
	must("", "kr", "init")
	must("", "git", "config", "--global", "credential.helper", "kr")
	must("protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	must("", "kr", "agent", "start", "--confirm", "--lock-on", "none")
	t.Cleanup(func() { run("", "kr", "agent", "stop") })
	must("", "kr", "unlock")
	env = append(env, "KR_PASSPHRASE=") // from here on only the agent reads

	const query = "protocol=https\nhost=example.org\n\n"
	if out, _, _ := run(query, "git", "credential", "fill"); strings.Contains(out, "s3cret") {
		t.Fatalf("git read a credential nobody allowed:\n%s", out)
	}
	var reads []agent.Read
	if err := json.Unmarshal([]byte(must("", "kr", "agent", "log", "--json")), &reads); err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 {
		t.Fatal("no read logged")
	}
	last := reads[len(reads)-1]
	if filepath.Base(last.Program) != "git" || last.Decision != agent.DecisionDenied || last.RunBy != "" {
		t.Fatalf("the helper's read was logged as %+v, want git's, denied", last)
	}
	must("", "kr", "agent", "allow", last.Program)
	if out := must(query, "git", "credential", "fill"); !strings.Contains(out, "password=s3cret\n") {
		t.Fatalf("git credential fill with git allowed:\n%s", out)
	}
}
