package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// fakeTerminal answers prompts from a list and records what was shown.
type fakeTerminal struct {
	answers []string
	shown   bytes.Buffer
}

func (f *fakeTerminal) Write(p []byte) (int, error) { return f.shown.Write(p) }
func (f *fakeTerminal) Close() error                { return nil }
func (f *fakeTerminal) ReadSecret(prompt string) ([]byte, error) {
	f.shown.WriteString(prompt)
	if len(f.answers) == 0 {
		return nil, errors.New("no more answers")
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a), nil
}
func (f *fakeTerminal) ReadLine(prompt string) (string, error) {
	b, err := f.ReadSecret(prompt)
	return string(b), err
}

type testEnv struct {
	app      *App
	out, err bytes.Buffer
	store    backends.Backend
	term     *fakeTerminal
}

// osStoreStandIn is an in-memory store that answers to the name of this
// system's OS store, so that what kr does for an OS store (the agent's
// cache by value) runs against it.
type osStoreStandIn struct{ *memory.Backend }

func (osStoreStandIn) Name() string { return thisOS()[0].Name }

func newTestEnv(t *testing.T, stdin string, tty bool, env map[string]string) *testEnv {
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["KR_CONFIG_DIR"]; !ok {
		env["KR_CONFIG_DIR"] = t.TempDir() // never the records of whoever runs the tests
	}
	e := &testEnv{store: backends.Checked(osStoreStandIn{memory.New()}), term: &fakeTerminal{}}
	e.app = &App{
		IO: &IOStreams{
			In: strings.NewReader(stdin), Out: &e.out, ErrOut: &e.err,
			InIsTTY: tty, OutIsTTY: tty,
			OpenTerminal: func() (Terminal, error) {
				if !tty {
					return nil, errNoTerminal
				}
				return e.term, nil
			},
		},
		Getenv: func(k string) string { return env[k] },
		opened: e.store,
	}
	return e
}

func (e *testEnv) run(args ...string) int {
	e.out.Reset()
	e.err.Reset()
	return Run(context.Background(), e.app, args)
}

func TestSetGetPiped(t *testing.T) {
	value := "line1\nline2\n\x00\xff"
	e := newTestEnv(t, value, false, nil)
	if code := e.run("set", "db/prod"); code != 0 {
		t.Fatalf("set: exit %d, stderr %q", code, e.err.String())
	}
	if code := e.run("get", "db/prod"); code != 0 {
		t.Fatalf("get: exit %d, stderr %q", code, e.err.String())
	}
	if e.out.String() != value {
		t.Fatalf("get printed %q, want exactly %q (no newline off a terminal)", e.out.String(), value)
	}
}

func TestSetPromptsTwice(t *testing.T) {
	e := newTestEnv(t, "", true, nil)
	e.term.answers = []string{"typed", "typed"}
	if code := e.run("set", "tty/x"); code != 0 {
		t.Fatalf("set: exit %d, stderr %q", code, e.err.String())
	}
	if n := strings.Count(e.term.shown.String(), ": "); n != 2 {
		t.Fatalf("prompted %d times (%q), want 2", n, e.term.shown.String())
	}
	if strings.Contains(e.term.shown.String()+e.out.String()+e.err.String(), "typed") {
		t.Fatalf("the value was echoed")
	}
	e.run("get", "tty/x")
	if e.out.String() != "typed\n" {
		t.Fatalf("get on a terminal printed %q, want the value and a newline", e.out.String())
	}

	e.term.answers = []string{"one", "two"}
	if code := e.run("set", "tty/y"); code != 1 {
		t.Fatalf("mismatched entries: exit %d, want 1", code)
	}
	if code := e.run("get", "tty/y"); code != 3 {
		t.Fatalf("get after a refused set: exit %d, want 3", code)
	}
}

func TestExitCodes(t *testing.T) {
	e := newTestEnv(t, "", false, nil)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"get", "missing"}, 3, "kr: error: secret not found: missing\n"},
		{[]string{"get"}, 2, "kr: error: accepts 1 arg(s), received 0\n"},
		{[]string{"--nosuchflag"}, 2, "kr: error: unknown flag: --nosuchflag\n"},
		{[]string{"rm", "a//b"}, 1, "kr: error: invalid secret name"},
		{[]string{"--backend", "bogus", "ls"}, 2, `kr: error: unknown backend "bogus"`},
		{[]string{"--timeout", "0s", "ls"}, 2, "kr: error: --timeout must be positive"},
	}
	for _, c := range cases {
		if code := e.run(c.args...); code != c.code {
			t.Errorf("kr %q: exit %d, want %d (stderr %q)", c.args, code, c.code, e.err.String())
		}
		if !strings.HasPrefix(e.err.String(), c.msg) {
			t.Errorf("kr %q: stderr %q, want prefix %q", c.args, e.err.String(), c.msg)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", backends.ErrNotFound), 3},
		{fmt.Errorf("x: %w", backends.ErrLocked), 4},
		{fmt.Errorf("x: %w", backends.ErrCanceled), 4},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), 4},
		{fmt.Errorf("x: %w", backends.ErrUnavailable), 1},
		{&ExitCodeError{Code: 42}, 42},
		{usagef("bad"), 2},
		{withHint(fmt.Errorf("x: %w", backends.ErrNotFound), "h"), 3},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func TestPrintErrorPolicy(t *testing.T) {
	var b bytes.Buffer
	printError(&b, withHint(errors.New("line one\nline two \x1b[31mred"), "do this"))
	want := "kr: error: line one line two \\x1b[31mred\nkr: hint: do this\n"
	if b.String() != want {
		t.Fatalf("printError = %q, want %q", b.String(), want)
	}
	b.Reset()
	printError(&b, &ExitCodeError{Code: 7})
	if b.Len() != 0 {
		t.Fatalf("a child's exit status printed %q", b.String())
	}
}

func TestTooBigFromStdin(t *testing.T) {
	e := newTestEnv(t, strings.Repeat("x", backends.MaxValueSize+1), false, nil)
	if code := e.run("set", "big"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(e.err.String(), "nothing was stored") {
		t.Fatalf("stderr %q", e.err.String())
	}
	if names, _ := e.store.List(context.Background(), ""); len(names) != 0 {
		t.Fatalf("stored %q", names)
	}
}
