package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/wait"
)

// Errors a client reports, testable with errors.Is.
var (
	ErrLocked        = errors.New("agent: vault not unlocked")
	ErrBadPassphrase = errors.New("agent: wrong passphrase")
	// ErrDenied: the user did not allow the program to read (a
	// *DeniedError carries the agent's words). It exits as a dismissed
	// prompt does.
	ErrDenied = errors.New("agent: read not allowed")
)

// DeniedError is the agent's refusal to serve a read the user did not
// allow: it is ErrDenied and backends.ErrCanceled.
type DeniedError struct{ Reason string }

func (e *DeniedError) Error() string   { return "the agent refused: " + e.Reason }
func (e *DeniedError) Unwrap() []error { return []error{ErrDenied, backends.ErrCanceled} }

// ConnError is a failure to talk to the agent, as opposed to an answer
// from it: a caller must not read it as a verdict on what it sent.
type ConnError struct {
	Op  string // "send", "receive" or "stop"
	Err error
}

func (e *ConnError) Error() string { return "agent: " + e.Op + ": " + e.Err.Error() }
func (e *ConnError) Unwrap() error { return e.Err }

// Client talks to an agent over one stream.
type Client struct {
	rw      io.ReadWriter
	timeout time.Duration
	ctx     context.Context
}

// deadliner is a stream whose reads and writes can be bounded and
// interrupted (a net.Conn); without it a call waits as long as the stream.
type deadliner interface{ SetDeadline(time.Time) error }

// unlockWork is how much longer than any other answer an unlock's may
// take: the agent runs scrypt (and other unlocks queue for it), which on a
// busy machine takes many times its idle second. A client must not give up
// on an agent that is still working and would then hold the key while
// `kr unlock` reported a failure.
const unlockWork = 5 * time.Minute

// approveWork is how much longer a read's answer may take once the agent
// said it is asking a person (an interim answer, Response.Asking): its
// dialog waits up to its ApproveTimeout. An agent that asks nobody is
// waited for as for any other answer.
const approveWork = DefaultApproveTimeout + 5*time.Second

// maxAsking bounds the interim answers to one read: the agent sends one
// as it starts to wait for another read's dialog, and one as its own
// starts. A client must not wait for ever on an agent that keeps saying
// it is asking.
const maxAsking = 2

// readsForKey is the context key of ReadsFor.
type readsForKey struct{}

// ReadsFor returns a context under which a client's reads name program (an
// absolute path) as the one they are for: kr exec reads the secrets of the
// program it is about to run, and the agent asks about and logs that
// program, not the one that ran kr.
func ReadsFor(ctx context.Context, program string) context.Context {
	return context.WithValue(ctx, readsForKey{}, program)
}

// NewClient talks to the agent at the other end of rw, a connection from
// ipc.Dial or any stream ServeAgent answers.
func NewClient(rw io.ReadWriter) *Client { return &Client{rw: rw, timeout: 30 * time.Second} }

// WithContext returns a client on the same connection whose calls end when
// ctx does (with ctx's error), each bounded by the wait limit ctx carries
// (package wait).
func (cl *Client) WithContext(ctx context.Context) *Client {
	c := *cl
	c.ctx = ctx
	return &c
}

// Close closes the stream, if it can be closed.
func (cl *Client) Close() error {
	if c, ok := cl.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (cl *Client) setDeadline(t time.Time) {
	if d, ok := cl.rw.(deadliner); ok {
		d.SetDeadline(t)
	}
}

func (cl *Client) call(req Request) (*Response, error) {
	return cl.exchange(req, Version, false)
}

// exchange sends req in protocol version v and reads the answer; with
// toEOF it then reads until the agent closes the connection. An answer of
// another version is a *VersionError: the agent refused the request. The round trip is one wait on another
// program (package wait): bounded by the limit the client's context
// carries, else by the client's own timeout. An unlock also waits for the
// agent's scrypt, which takes what the machine needs: unlockWork more. A
// read waits approveWork more only after an interim answer saying that the
// agent is asking a person.
func (cl *Client) exchange(req Request, v int, toEOF bool) (*Response, error) {
	ctx := cl.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, &ConnError{"send", err}
	}
	limit := cl.waitLimit(ctx)
	_, limited := wait.Limit(ctx)
	switch {
	case req.Op == OpUnlock:
		limit += unlockWork
	case guarded(req.Op):
		req.Program, _ = ctx.Value(readsForKey{}).(string)
	}
	deadline := time.Now().Add(limit)
	ctxDeadline, bounded := ctx.Deadline()
	if bounded && ctxDeadline.Before(deadline) {
		deadline = ctxDeadline
	}
	cl.setDeadline(deadline)
	// A cancellation without a deadline (a signal) interrupts the wait too.
	stop := context.AfterFunc(ctx, func() { cl.setDeadline(time.Unix(1, 0)) })
	defer stop()
	connErr := func(op string, err error) error {
		timedOut := errors.Is(err, os.ErrDeadlineExceeded)
		switch {
		case ctx.Err() != nil:
			err = ctx.Err()
		case timedOut && bounded && !time.Now().Before(ctxDeadline):
			err = context.DeadlineExceeded
		case timedOut && limited:
			return &wait.TimeoutError{What: "the agent did not answer", Limit: limit, Err: &ConnError{op, err}}
		}
		return &ConnError{op, err}
	}
	req.V = v
	if err := writeMsg(cl.rw, &req); err != nil {
		return nil, connErr("send", err)
	}
	var resp Response
	for asked := 0; ; asked++ {
		if err := readMsgVersion(cl.rw, &resp, v); err != nil {
			if ve := (*VersionError)(nil); errors.As(err, &ve) {
				return nil, ve // an answer, not a failure to get one
			}
			return nil, connErr("receive", err)
		}
		if !resp.Asking {
			break
		}
		if asked == maxAsking || !guarded(req.Op) {
			wipe(&resp)
			return nil, connErr("receive", errors.New("an interim answer too many"))
		}
		// A person is being asked: their time, and then the agent's.
		limit = cl.waitLimit(ctx) + approveWork
		deadline = time.Now().Add(limit)
		if bounded && ctxDeadline.Before(deadline) {
			deadline = ctxDeadline
		}
		cl.setDeadline(deadline)
		resp = Response{}
	}
	switch {
	case resp.Error == "":
	case resp.Code == CodeLocked:
		return nil, fmt.Errorf("%w: %s", ErrLocked, resp.Error)
	case resp.Code == CodeBadPassphrase:
		return nil, ErrBadPassphrase
	case resp.Code == CodeDenied:
		return nil, &DeniedError{resp.Error}
	default:
		return nil, fmt.Errorf("agent: %s", resp.Error)
	}
	if toEOF {
		var b [1]byte
		if _, err := cl.rw.Read(b[:]); !errors.Is(err, io.EOF) {
			if err == nil {
				err = errors.New("data after the answer")
			}
			return nil, connErr("stop", err)
		}
	}
	return &resp, nil
}

// waitLimit is how long one answer may take: the limit ctx carries, else
// the client's own timeout.
func (cl *Client) waitLimit(ctx context.Context) time.Duration {
	if limit, ok := wait.Limit(ctx); ok {
		return limit
	}
	return cl.timeout
}

// Unlock hands the agent a vault's identity file and passphrase; the agent
// unwraps and keeps the identity for ttl (0: DefaultTTL).
func (cl *Client) Unlock(vaultID string, identityFile, passphrase []byte, ttl, idle time.Duration) error {
	_, err := cl.call(Request{Op: OpUnlock, VaultID: vaultID, IdentityFile: identityFile, Passphrase: passphrase,
		TTLSeconds: int64(ttl / time.Second), IdleSeconds: int64(idle / time.Second)})
	return err
}

// Decrypt asks the agent to decrypt an age file of the vault.
func (cl *Client) Decrypt(vaultID string, ciphertext []byte) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpDecrypt, VaultID: vaultID, Ciphertext: ciphertext})
	if err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// Sign asks the agent to sign msg with the vault's key.
func (cl *Client) Sign(vaultID string, msg []byte) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpSign, VaultID: vaultID, Message: msg})
	if err != nil {
		return nil, err
	}
	return resp.Signature, nil
}

// Lock makes the agent forget every key.
func (cl *Client) Lock() error { _, err := cl.call(Request{Op: OpLock}); return err }

// Stop wipes the agent's keys and ends it. It returns once the agent has
// stopped serving: its socket is removed before it answers, and it closes
// this connection as the last thing it does. An agent of another protocol
// version answers with a *VersionError and closes the connection; StopVersion
// on a new one stops it.
func (cl *Client) Stop() error { return cl.StopVersion(Version) }

// StopVersion is Stop in protocol version v, for an agent that said it
// speaks v (VersionError.Got). Every version keeps the stop request as
// {"v":v,"op":"stop"}, answered by {"v":v} and the end of the connection,
// so that any kr can replace an agent left by another.
func (cl *Client) StopVersion(v int) error {
	_, err := cl.exchange(Request{Op: OpStop}, v, true)
	return err
}

// Status reports the agent's pid and unlocked vaults.
func (cl *Client) Status() (*Status, error) {
	resp, err := cl.call(Request{Op: OpStatus})
	if err != nil {
		return nil, err
	}
	if resp.Status == nil {
		return nil, errors.New("agent: empty status")
	}
	return resp.Status, nil
}

// CachePut keeps an OS-store value under key for ttl.
func (cl *Client) CachePut(key string, value []byte, ttl time.Duration) error {
	_, err := cl.call(Request{Op: OpCachePut, CacheKey: key, Value: value, TTLSeconds: int64(ttl / time.Second)})
	return err
}

// CacheGet returns a cached value, or an error wrapping ErrLocked.
func (cl *Client) CacheGet(key string) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpCacheGet, CacheKey: key})
	if err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}

// CacheDrop forgets a cached value.
func (cl *Client) CacheDrop(key string) error {
	_, err := cl.call(Request{Op: OpCacheDrop, CacheKey: key})
	return err
}

// SSH sends one SSH agent protocol message to the agent's SSH key service
// and returns its answer.
func (cl *Client) SSH(msg []byte) ([]byte, error) {
	resp, err := cl.call(Request{Op: OpSSH, Value: msg})
	if err != nil {
		return nil, err
	}
	return resp.Plaintext, nil
}
