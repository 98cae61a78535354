package cli

// This file is how a kr process reaches its agent: where it listens, one
// connection per run shared by every caller, starting the agent when needed
// and handing it a vault to unlock.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/wait"
	"github.com/kr-keyring/kr/ipc"
)

// agentDisabled: KR_NO_AGENT=1 keeps kr from using or starting the agent.
func (a *App) agentDisabled() bool { return a.Getenv("KR_NO_AGENT") == "1" }

func (a *App) agentPath() (string, error) { return ipc.DefaultPath(a.Getenv) }

// dialAgent connects to a running agent, its calls bounded by ctx. With
// none running it fails at once, with an error wrapping ipc.ErrNoAgent; a
// busy one is waited for.
func (a *App) dialAgent(ctx context.Context) (*agent.Client, error) {
	path, err := a.agentPath()
	if err != nil {
		return nil, err
	}
	dctx, end := wait.Bound(ctx, "the agent did not take the connection")
	c, err := ipc.Dial(dctx, path)
	if err = end(err); err != nil {
		return nil, err
	}
	return agent.NewClient(c).WithContext(ctx), nil
}

// agentConn returns the connection this run keeps to the running agent,
// dialling it the first time: the decrypter and the value cache share one
// connection however many secrets a command reads. fresh says it was dialled
// by this call, so a failure on it is not a stale connection's.
func (a *App) agentConn(ctx context.Context) (c *agent.Client, fresh bool, err error) {
	if a.link != nil {
		return a.link.WithContext(ctx), false, nil
	}
	if c, err = a.dialAgent(ctx); err != nil {
		return nil, false, err
	}
	a.link = c
	return c, true, nil
}

// keepAgentConn makes c, a connection ensureAgent made, the run's one.
func (a *App) keepAgentConn(c *agent.Client) {
	if a.link != nil && a.link != c {
		a.link.Close()
	}
	a.link = c
}

// dropAgentConn closes the run's connection: it failed, or the run ends.
func (a *App) dropAgentConn() {
	if a.link != nil {
		a.link.Close()
		a.link = nil
	}
}

// ensureAgent returns a client of the running agent, starting one (once,
// under a lock, like gpg-agent) when none answers.
func (a *App) ensureAgent(ctx context.Context) (*agent.Client, error) {
	if a.agentDisabled() {
		return nil, withHint(errors.New("the agent is disabled (KR_NO_AGENT=1)"),
			"unset KR_NO_AGENT to use the agent; while it is set, every read needs the passphrase")
	}
	c, err := a.dialAgent(ctx)
	if err == nil {
		// One round trip to learn that the agent speaks this kr's protocol:
		// one an older kr left running is replaced here, not at the
		// unlock or cache request the caller is about to make.
		_, err = c.Status()
		var ve *agent.VersionError
		if !errors.As(err, &ve) {
			return c, nil // a failure to answer shows in the caller's own request
		}
		c.Close()
		if _, err := a.staleAgent(ctx, err); err != nil {
			return nil, err
		}
		if c, err = a.dialAgent(ctx); err == nil {
			return c, nil // another kr started its agent meanwhile
		}
	}
	path, perr := a.agentPath()
	if perr != nil {
		return nil, perr
	}
	if !errors.Is(err, ipc.ErrNoAgent) {
		// One runs but cannot be reached, or the directory is not ours
		// alone: a second agent would not help.
		return nil, agentDirHint(fmt.Errorf("start the agent: %w", err), path)
	}
	unlock, err := startLock(ctx, path)
	if err != nil {
		return nil, agentDirHint(fmt.Errorf("start the agent: %w", err), path)
	}
	defer unlock()
	if c, err := a.dialAgent(ctx); err == nil {
		return c, nil // another kr started it meanwhile
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"agent", "serve"}, a.agentServeArgs...)...)
	cmd.Env = agentEnv(os.Environ())
	cmd.SysProcAttr = detached()
	restore := closeOnExecAll()
	err = cmd.Start()
	restore()
	if err != nil {
		return nil, fmt.Errorf("start the agent: %w", err)
	}
	go cmd.Wait()
	// The new agent's start is one wait: a busy machine may take seconds
	// to run a process and let it listen. A context from outside
	// App.context gets --timeout as its limit here, so the wait ends.
	if _, ok := wait.Limit(ctx); !ok {
		ctx = wait.WithLimit(ctx, max(a.Timeout, 10*time.Second))
	}
	sctx, end := wait.Bound(ctx, "the agent kr started did not answer")
	for {
		if c, err := a.dialAgent(ctx); err == nil {
			end(nil)
			return c, nil
		}
		select {
		case <-sctx.Done():
			return nil, end(fmt.Errorf("start the agent: %w", sctx.Err()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// staleAgent deals with an agent that answered in another protocol
// version; for any other err it returns false and err. An agent an older
// kr started holds nothing this kr can use: it is stopped, stopped is
// true, and the caller carries on as with no agent (starting this kr's
// when it needs one). One newer than this kr is left running for the kr
// that started it, and the error says how to replace it.
func (a *App) staleAgent(ctx context.Context, err error) (stopped bool, _ error) {
	var ve *agent.VersionError
	if !errors.As(err, &ve) {
		return false, err
	}
	a.dropAgentConn()
	if ve.Got > ve.Want {
		return false, withHint(fmt.Errorf("the agent speaks protocol version %d, newer than this kr's %d", ve.Got, ve.Want),
			"a newer kr started it: use that kr, or run kr agent stop to replace the agent with this kr's")
	}
	if err := a.stopAgentVersion(ctx, ve.Got); err != nil {
		return false, withHint(fmt.Errorf("stop the agent an older kr started (protocol version %d, this kr's %d): %w", ve.Got, ve.Want, err),
			"run kr agent stop; the next command that needs the agent starts this kr's")
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: stopped the agent an older kr started (protocol version %d, this kr's %d)\n", ve.Got, ve.Want)
	return true, nil
}

// stopAgentVersion stops the running agent, which speaks protocol version
// v, over a connection of its own (an agent closes one on which it refused
// a request).
func (a *App) stopAgentVersion(ctx context.Context, v int) error {
	c, err := a.dialAgent(ctx)
	if errors.Is(err, ipc.ErrNoAgent) {
		return nil
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.StopVersion(v); err != nil {
		return err
	}
	a.unmarkCached()
	return nil
}

// errStartLockBusy: another process held the agent's start lock for as
// long as the command could wait.
var errStartLockBusy = errors.New("wait for the agent start lock")

// agentDirHint says where to look when the agent's directory is the
// trouble: someone else's, or its start lock held.
func agentDirHint(err error, sock string) error {
	dir := filepath.Dir(sock)
	switch {
	case errors.Is(err, ipc.ErrUnsafeDir):
		return withHint(err, "%s must be a directory of yours with mode 0700; if another user made it, set XDG_RUNTIME_DIR to a directory of your own", dir)
	case errors.Is(err, errStartLockBusy):
		return withHint(err, "another process holds the start lock in %s; if no kr is starting the agent there, check what has that directory's files open", dir)
	}
	return err
}

// agentEnv is the environment of a program kr starts for itself (the agent,
// git config): never a passphrase meant for kr.
func agentEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); !envref.IsPassphraseVar(k) {
			out = append(out, kv)
		}
	}
	return out
}

// unlockAgent hands a vault's identity file (wrapped, for recipient id) and
// the passphrase to the agent, which unwraps it itself.
func (a *App) unlockAgent(ctx context.Context, id string, wrapped, pass []byte, ttl, idle time.Duration) (*agent.Client, error) {
	c, err := a.ensureAgent(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.Unlock(id, wrapped, pass, ttl, idle); err != nil {
		c.Close()
		if errors.Is(err, agent.ErrBadPassphrase) {
			return nil, filevault.ErrBadPassphrase
		}
		return nil, err
	}
	return c, nil
}
