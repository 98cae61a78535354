package wslbridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/wait"
)

// Error is a bridge that could not start or stopped answering, with the
// next step for the user.
type Error struct {
	Err  error
	hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }
func (e *Error) Hint() string  { return e.hint }

// notAnswering is what the timeout's hint says kept kr waiting.
const notAnswering = "kr.exe (the WSL bridge) did not answer"

// conn is the bridge's two pipes; a deadline in the past ends a wait.
type conn interface {
	io.Reader
	io.Writer
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Client is kr's end of one kr.exe bridge. Requests go one at a time; a
// request that fails in transport (a timeout, a frame that does not parse,
// kr.exe gone) breaks the client for good, since the stream can no longer
// be trusted to pair answers with requests: every later call fails fast.
type Client struct {
	mu     sync.Mutex
	conn   conn
	kill   func()          // ends the bridge, at once
	dead   <-chan struct{} // closed once the bridge has stopped
	exited func() string   // how it stopped: "exit status 1: last stderr line"
	broken error
}

// newClient is a client over c; dead is closed when the other end stops.
func newClient(c conn, kill func(), dead <-chan struct{}, exited func() string) *Client {
	return &Client{conn: c, kill: kill, dead: dead, exited: exited}
}

// Start runs exe (kr.exe) as `exe bridge serve` in the environment env
// (KEY=value; nil: this process's) and checks that it answers, within
// ctx's --timeout.
func Start(ctx context.Context, exe string, env []string) (*Client, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := exec.Command(exe, "bridge", "serve")
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, &Error{Err: fmt.Errorf("start %s: %w", exe, err),
			hint: "kr in WSL reaches Credential Manager through kr.exe of Windows: check that it runs there, or name it with KR_WSL_EXE"}
	}
	var tail stderrTail
	copied := make(chan struct{})
	go func() {
		io.Copy(&tail, errR)
		errR.Close()
		close(copied)
	}()
	dead := make(chan struct{})
	var status error
	go func() {
		status = cmd.Wait()
		// A program kr.exe started may hold its stdout open: the close
		// ends a read that waits for it.
		outR.Close()
		close(dead)
	}()
	exited := func() string {
		<-dead
		// stderr ends with the process, unless a program it started
		// keeps it open: then what came within a few seconds (this is
		// only the error's text; the error itself is already certain).
		select {
		case <-copied:
		case <-time.After(5 * time.Second):
		}
		s := "exited"
		if status != nil {
			s = status.Error()
		}
		if last := tail.lastLine(); last != "" {
			s += ": " + last
		}
		return s
	}
	kill := func() {
		inW.Close()
		cmd.Process.Kill()
	}
	c := newClient(pipes{outR, inW}, kill, dead, exited)
	if err := c.call(ctx, &Request{Op: OpHello}, &Response{}); err != nil {
		return nil, err
	}
	return c, nil
}

// pipes is kr.exe's stdout and stdin as one conn.
type pipes struct{ r, w *os.File }

func (p pipes) Read(b []byte) (int, error)         { return p.r.Read(b) }
func (p pipes) Write(b []byte) (int, error)        { return p.w.Write(b) }
func (p pipes) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p pipes) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

// Close ends the bridge: kr.exe reads the end of its stdin and exits.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		c.broken = errors.New("kr.exe (the WSL bridge) was closed")
	}
	c.kill()
	return nil
}

// Broken reports whether the client can no longer be used.
func (c *Client) Broken() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken != nil
}

// call sends req and reads its answer into resp, both within one
// --timeout. A failed request is a *Response error, not a transport one:
// see fail.
func (c *Client) call(ctx context.Context, req *Request, resp *Response) (err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return c.broken
	}
	req.V = Version
	wctx, end := wait.Bound(ctx, notAnswering)
	fired := make(chan struct{})
	stop := context.AfterFunc(wctx, func() {
		past := time.Unix(1, 0)
		c.conn.SetReadDeadline(past)
		c.conn.SetWriteDeadline(past)
		close(fired)
	})
	err = agent.WriteFrame(c.conn, req)
	if err == nil {
		err = agent.ReadFrame(c.conn, resp, Version)
	}
	if !stop() {
		<-fired // the deadlines are set; none is set after this
		if err == nil {
			// The answer came as the deadline passed: it is whole, and
			// the next call must not find the pipes already expired.
			c.conn.SetReadDeadline(time.Time{})
			c.conn.SetWriteDeadline(time.Time{})
		}
	}
	if err == nil {
		return nil
	}
	agent.WipeFrame(resp)
	err = end(c.transportError(wctx, err))
	c.broken = err
	c.kill()
	return err
}

// transportError says what went wrong with the stream.
func (c *Client) transportError(ctx context.Context, err error) error {
	var ve *agent.VersionError
	switch {
	case errors.As(err, &ve):
		return &Error{Err: fmt.Errorf("kr.exe speaks bridge version %d, this kr %d", ve.Got, ve.Want),
			hint: "install the same kr release in WSL and on Windows"}
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", notAnswering, err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, os.ErrClosed),
		errors.Is(err, io.ErrClosedPipe), errors.Is(err, syscallEPIPE):
		how := "stopped"
		select {
		case <-c.dead:
			how = "stopped (" + c.exited() + ")"
		case <-ctx.Done():
		}
		return &Error{Err: fmt.Errorf("kr.exe (the WSL bridge) %s during a request", how),
			hint: "run 'kr.exe bridge serve' on Windows to see why it stops, or check 'kr doctor'"}
	}
	return &Error{Err: fmt.Errorf("kr.exe (the WSL bridge) sent what kr cannot read: %w", err),
		hint: "is KR_WSL_EXE (or wsl.json's kr_exe) kr.exe of the same kr release?"}
}

// stderrTail keeps the end of kr.exe's stderr, for an error's text.
type stderrTail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *stderrTail) lastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(string(bytes.TrimSpace(t.buf)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 200 {
		last = last[:200]
	}
	return last
}
