package vaultgit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/kr-keyring/kr/internal/envref"
)

// waitDelay bounds how long a cancelled git may take to clean up and exit
// before it is killed, and how long a child it started (upload-pack, ssh)
// may keep its output pipes open: a cancelled sync returns instead of
// waiting for them.
const waitDelay = time.Second

// tailSize is how much of git's stderr an error may quote.
const tailSize = 2048

// git runs git in the top of one work tree.
type git struct {
	top    string    // the work tree's top directory
	stderr io.Writer // git's progress for network commands; nil: discarded
	env    []string  // the environment every command gets
}

func newGit(dir string, stderr io.Writer) *git {
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		// No passphrase of kr's reaches git, its hooks or its credential helpers.
		if k, _, _ := strings.Cut(kv, "="); !envref.IsPassphraseVar(k) {
			env = append(env, kv)
		}
	}
	// A rebase or merge never waits for an editor: stdin is not connected.
	env = append(env, "GIT_EDITOR=true", "GIT_MERGE_AUTOEDIT=no")
	return &git{top: dir, stderr: stderr, env: env}
}

// call describes one git command.
type call struct {
	args  []string
	env   []string // added to the environment
	stdin []byte   // nil: not connected
	// network marks commands that talk to a remote: their stderr also goes
	// to git.stderr, and they stay in kr's process group so that ssh and
	// credential prompts can use the terminal. Local commands get a process
	// group of their own, so a cancelled rebase ends with every hook and
	// child it started, not only the git kr ran.
	network bool
}

// exitError is a git command that ran and exited non-zero.
type exitError struct {
	args []string
	code int
	tail string // the last lines of git's stderr
}

func (e *exitError) Error() string {
	msg := fmt.Sprintf("git %s: exit status %d", summary(e.args), e.code)
	if e.tail != "" {
		msg += ": " + e.tail
	}
	return msg
}

// summary names a git command in errors: the subcommand and its options
// without the -c settings in front of it.
func summary(args []string) string {
	for len(args) >= 2 && args[0] == "-c" {
		args = args[2:]
	}
	if len(args) > 3 {
		args = args[:3]
	}
	return strings.Join(args, " ")
}

// exitCode returns the exit status of a git command that ran, or -1 for
// any other error (git missing, ctx cancelled).
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return -1
}

// run runs git and returns its stdout. An error quotes the end of git's
// stderr; a cancelled ctx is returned as ctx's error.
func (g *git) run(ctx context.Context, c call) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", c.args...)
	cmd.Dir = g.top
	cmd.Env = append(g.env[:len(g.env):len(g.env)], c.env...)
	if c.stdin != nil {
		cmd.Stdin = bytes.NewReader(c.stdin)
	}
	var stdout bytes.Buffer
	tail := &tailBuffer{max: tailSize}
	cmd.Stdout = &stdout
	cmd.Stderr = tail
	if c.network && g.stderr != nil {
		cmd.Stderr = io.MultiWriter(g.stderr, tail)
	}
	cancelGently(cmd, !c.network)
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("git %s: %w", summary(c.args), ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() {
		return stdout.Bytes(), &exitError{args: c.args, code: ee.ExitCode(), tail: redact(tail.lastLines(3))}
	}
	if err != nil {
		return nil, fmt.Errorf("git %s: %w", summary(c.args), err)
	}
	return stdout.Bytes(), nil
}

// out runs a command that takes no input and returns its trimmed stdout.
func (g *git) out(ctx context.Context, args ...string) (string, error) {
	b, err := g.run(ctx, call{args: args})
	return strings.TrimRight(string(b), "\r\n"), err
}

// ok runs a command whose exit status is the answer: true for 0, false for
// 1, an error for anything else.
func (g *git) ok(ctx context.Context, args ...string) (bool, error) {
	_, err := g.run(ctx, call{args: args})
	switch exitCode(err) {
	case -1:
		if err != nil {
			return false, err
		}
		return true, nil
	case 1:
		return false, nil
	default:
		return false, err
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns up to n non-empty lines from the end, joined by "; ".
func (t *tailBuffer) lastLines(n int) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(string(t.buf), "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// urlPassword matches the password of a URL's user info. Compiled on first
// use, not at start: kr links this package into every command, `kr version`
// and `kr get` included, and only sync's errors need it.
var urlPassword = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(://[^/@\s:]*):[^/@\s]*@`)
})

// redact hides the password of any URL in s: a remote's URL may carry a
// token, and errors must not.
func redact(s string) string {
	return urlPassword().ReplaceAllString(s, "$1:***@")
}
