package agent

// This file is the agent as the desktop's key guard: each read is
// attributed to a program the kernel names, asked about when the user
// wants that, logged, and every lock (the screen's, a suspend's, kr
// lock's) forgets both the keys and the answers.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kr-keyring/kr/backends/filevault/format"
	"github.com/kr-keyring/kr/ipc"
)

// Approval is the user's answer about one program's read.
type Approval int

const (
	Deny Approval = iota
	AllowOnce
	AllowUntilLock
)

// Approver asks the user whether program may read secret. The agent
// runs it from its own configuration, never a program a client named; an
// error (no dialog could be shown, nobody answered before ctx ended)
// denies.
type Approver interface {
	Approve(ctx context.Context, program, secret string) (Approval, error)
}

// DefaultApproveTimeout bounds one approval dialog: nobody answering
// denies.
const DefaultApproveTimeout = time.Minute

// Rule is a standing permission the user keeps (`kr agent allow`):
// Program, an executable's path, reads names under Prefix ("" for every
// name) without being asked.
type Rule struct {
	Program string `json:"program"`
	Prefix  string `json:"prefix,omitempty"`
}

// Read is one entry of the read log: what was read, by which program,
// and what the agent decided. Never a value.
type Read struct {
	Time     string `json:"time"` // RFC 3339, with fractions
	Name     string `json:"name"`
	Program  string `json:"program"`
	RunBy    string `json:"run_by,omitempty"` // what ran kr exec, for a program it runs
	PID      int    `json:"pid"`
	Decision string `json:"decision"`
}

// Decisions a Read records.
const (
	DecisionAllowed    = "allowed"         // nothing is asked about
	DecisionRule       = "allowed by rule" // a Rule covers it
	DecisionRemembered = "allowed earlier" // allowed until the lock, before
	DecisionApproved   = "allowed until lock"
	DecisionOnce       = "allowed once"
	DecisionDenied     = "denied"
	DecisionUnknown    = "denied: program unknown"
	DecisionLocked     = "locked" // nothing unlocked to read it with
)

// guard holds what a lock clears besides the keys, and the last lock.
type guard struct {
	opts Options
	self string // kr's own executable, whose reads are its parent's

	mu       sync.Mutex
	allowed  map[string]string // program id -> path, until the lock
	lockedAt time.Time
	reason   string
	lockOn   []string
	noLockOn []string
	ignored  int
	asking   sync.Mutex // one dialog at a time
}

func newGuard(opts Options) *guard {
	g := &guard{opts: opts, allowed: map[string]string{}}
	if opts.Approver != nil || opts.Log != nil {
		g.self = selfID()
	}
	return g
}

// locked forgets the answers and notes why.
func (g *guard) locked(reason string, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.allowed)
	g.lockedAt, g.reason = at, reason
}

func (g *guard) status() *GuardStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := &GuardStatus{LockOn: slices.Clone(g.lockOn), NoLockOn: slices.Clone(g.noLockOn), Confirm: g.opts.Approver != nil, LockReason: g.reason, Ignored: g.ignored}
	if st.LockOn == nil {
		st.LockOn = []string{}
	}
	if !g.lockedAt.IsZero() {
		st.LockedAt = g.lockedAt.Format(time.RFC3339Nano)
	}
	for _, p := range g.allowed {
		st.Allowed = append(st.Allowed, p)
	}
	slices.Sort(st.Allowed)
	return st
}

// peer names the program behind a connection once, when it first reads.
type peer struct {
	conn net.Conn
	// asking, when set, tells the peer that its read now waits for a
	// person; nil where nobody is told (the SSH key service).
	asking func()
	once   sync.Once
	prog   Program // the program kr serves, or the peer itself
	direct Program // the peer itself
	err    error
}

func (p *peer) program(self string) (Program, error) {
	p.once.Do(func() {
		if p.conn == nil {
			p.err = fmt.Errorf("no connection")
			return
		}
		pid, err := ipc.PeerPID(p.conn)
		if err != nil {
			p.err = err
			return
		}
		p.prog, p.direct, p.err = programOf(pid, self)
	})
	return p.prog, p.err
}

// programFor is the program req is read for: the peer's, or the one kr
// exec names in it (accepted from kr alone).
func (p *peer) programFor(self string, req *Request) (Program, error) {
	prog, err := p.program(self)
	if err != nil || req == nil || req.Program == "" {
		return prog, err
	}
	return claimed(req.Program, p.direct, prog, self)
}

// read guards one read request: handle serves it; a value it returns goes
// out only if the program may have it.
func (g *guard) read(p *peer, req *Request, handle func() Response) Response {
	resp := handle()
	if g.opts.Approver == nil && g.opts.Log == nil {
		return resp // nothing asked about, nothing logged: no work per read
	}
	name := readName(req, resp)
	if resp.Error != "" {
		if resp.Code == CodeLocked {
			prog, _ := p.programFor(g.self, req)
			g.log(prog, name, DecisionLocked)
		}
		return resp
	}
	if err := g.allow(p, req, name); err != nil {
		wipe(&resp)
		return fail(CodeDenied, "%v", err)
	}
	return resp
}

// readName is what a read is of, for the dialog and the log: a file's
// name comes from its plaintext, which binds it (a client's word for it
// could name an allowed prefix and read another secret).
func readName(req *Request, resp Response) string {
	switch req.Op {
	case OpCacheGet:
		if i := strings.LastIndexByte(req.CacheKey, 0); i >= 0 {
			return req.CacheKey[i+1:]
		}
		return req.CacheKey
	case OpDecrypt:
		if resp.Error == "" {
			if n, _, err := format.ParseSecret(resp.Plaintext); err == nil {
				return n
			}
		}
		return "a file of vault " + req.VaultID
	case OpSign:
		return "a signature with the key of vault " + req.VaultID
	}
	return ""
}

// GuardRead decides whether the program on the other end of c may use
// what name names (an SSH key's signature, say), logging the decision;
// a nil c is kr's own connection. An error says why not.
func (s *Server) GuardRead(c net.Conn, name string) error {
	return s.guard.allow(&peer{conn: c}, nil, name)
}

// allow decides, asking if need be, and logs; req is the read request,
// nil for another use.
func (g *guard) allow(p *peer, req *Request, name string) error {
	prog, err := p.programFor(g.self, req)
	if g.opts.Approver == nil {
		g.log(prog, name, DecisionAllowed)
		return nil
	}
	if err != nil {
		g.log(prog, name, DecisionUnknown)
		return fmt.Errorf("the requesting program cannot be named: %v", err)
	}
	decision, err := g.decide(p, prog, name)
	g.log(prog, name, decision)
	if decision == DecisionDenied {
		if err != nil {
			return fmt.Errorf("%s may not read %s: %v", prog.Path, name, err)
		}
		return fmt.Errorf("%s may not read %s", prog.Path, name)
	}
	return nil
}

func (g *guard) decide(p *peer, prog Program, name string) (string, error) {
	if g.ruled(prog.Path, name) {
		return DecisionRule, nil
	}
	if g.remembered(prog) {
		return DecisionRemembered, nil
	}
	// The client waits longer than for any other answer only once it
	// hears that a person is being asked: for another read's dialog
	// first, if one is up, and then for this one's.
	if p.asking != nil {
		p.asking()
	}
	queued := !g.asking.TryLock()
	if queued {
		g.asking.Lock()
	}
	defer g.asking.Unlock()
	// Another read of the same program may have been allowed meanwhile.
	if g.remembered(prog) {
		return DecisionRemembered, nil
	}
	if queued && p.asking != nil {
		p.asking() // the wait for the dialog before is over; this one's starts
	}
	g.mu.Lock()
	epoch := g.lockedAt
	g.mu.Unlock()
	limit := g.opts.ApproveTimeout
	if limit <= 0 {
		limit = DefaultApproveTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	a, err := g.opts.Approver.Approve(ctx, prog.describe(), name)
	if err != nil {
		return DecisionDenied, err
	}
	switch a {
	case AllowUntilLock:
		g.mu.Lock()
		// A lock while the dialog was up forgets this answer too.
		if g.lockedAt.Equal(epoch) {
			g.allowed[prog.id] = prog.Path
		}
		g.mu.Unlock()
		return DecisionApproved, nil
	case AllowOnce:
		return DecisionOnce, nil
	}
	return DecisionDenied, nil
}

func (g *guard) remembered(prog Program) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.allowed[prog.id]
	return ok
}

func (g *guard) ruled(path, name string) bool {
	if g.opts.Rules == nil {
		return false
	}
	for _, r := range g.opts.Rules() {
		if r.Program == path && (r.Prefix == "" || name == r.Prefix || strings.HasPrefix(name, strings.TrimSuffix(r.Prefix, "/")+"/")) {
			return true
		}
	}
	return false
}

func (g *guard) log(prog Program, name, decision string) {
	if g.opts.Log == nil {
		return
	}
	path := prog.Path
	if path == "" {
		path = "(unknown)"
	}
	g.opts.Log(Read{Time: g.opts.Now().UTC().Format(time.RFC3339Nano), Name: name, Program: path, RunBy: prog.RunBy, PID: prog.PID, Decision: decision})
}
