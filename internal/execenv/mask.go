// Package execenv runs a program with the environment kr resolved: in place
// of kr (execve) where it can, else as a child whose signals are forwarded,
// whose exit status becomes kr's, and whose output can be masked.
package execenv

import (
	"bytes"
	"io"
	"sync"
)

// Concealed replaces a secret in masked output.
const Concealed = "<concealed by kr>"

// MinMaskLen is the shortest value --mask hides: masking "1" or "yes" would
// garble all output while hiding nothing.
const MinMaskLen = 4

// Masker conceals secrets in a program's stdout and stderr.
//
// The rule: a byte is concealed when it belongs to any occurrence of any
// secret (overlapping occurrences included) in either of two views of the
// output: its own stream alone, or both streams merged in the order their
// bytes reached kr. Each run of concealed bytes in a stream is written as
// one Concealed marker. The own-stream view catches a secret whatever the
// other stream writes in between; the merged view catches one written half
// to stdout and half to stderr, and then each stream shows a marker where
// its half was. The merged view can only see the order in which kr read the
// two pipes, which for writes microseconds apart may differ from the order
// the program made them: a cross-stream split is then caught only if the
// pieces are also held as prefixes (see below) or are whole secrets.
//
// Streaming: bytes that could still become part of a secret in either view
// (at most the longest secret minus one byte per view) are held back and
// never shown early, even after a pause: a prompt that ends in the first
// letters of a secret appears once more output disproves it or the program
// ends. At the end a held fragment of MinMaskLen bytes or more that begins
// a secret (a truncated secret) is concealed; a shorter one is shown.
type Masker struct {
	mu      sync.Mutex
	secrets [][]byte
	byFirst [256][]int // secrets by first byte, to start partial matches
	streams []*maskStream
	merged  matchView
	ring    []streamPos // the last len(ring) bytes in merged order, by seq
	seq     int64       // merged position of the next byte
	done    []span      // scratch: matches completed by the current byte
	err     error
}

type streamPos struct {
	stream int
	pos    int64
}

// matchView tracks the partial matches alive at the end of one sequence.
type matchView struct {
	actives []partial // in order of start
}

type partial struct {
	secret int
	start  int64 // position in the view where the match began
	n      int   // bytes matched so far
}

type span struct {
	start int64
	n     int
}

type maskStream struct {
	out   io.Writer
	own   matchView
	q     []heldByte // bytes not yet written; q[0] is at position base
	base  int64
	inRun bool // the last byte written was concealed
	buf   []byte
}

type heldByte struct {
	b         byte
	seq       int64
	concealed bool
}

// NewMasker masks secrets (those of at least MinMaskLen bytes) in writes to
// the returned writers, which forward to outs. Close flushes what is held.
// With no such secret the returned writers are outs themselves.
func NewMasker(secrets [][]byte, outs ...io.Writer) (*Masker, []io.Writer) {
	m := &Masker{}
	longest := 0
	for _, s := range secrets {
		if len(s) >= MinMaskLen {
			m.byFirst[s[0]] = append(m.byFirst[s[0]], len(m.secrets))
			m.secrets = append(m.secrets, bytes.Clone(s))
			longest = max(longest, len(s))
		}
	}
	if len(m.secrets) == 0 {
		return m, outs
	}
	m.ring = make([]streamPos, longest)
	ws := make([]io.Writer, len(outs))
	for i, out := range outs {
		m.streams = append(m.streams, &maskStream{out: out})
		ws[i] = streamWriter{m, i}
	}
	return m, ws
}

type streamWriter struct {
	m      *Masker
	stream int
}

func (w streamWriter) Write(p []byte) (int, error) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	st := m.streams[w.stream]
	for _, b := range p {
		pos := st.base + int64(len(st.q))
		seq := m.seq
		m.seq++
		st.q = append(st.q, heldByte{b: b, seq: seq})
		m.ring[seq%int64(len(m.ring))] = streamPos{w.stream, pos}
		for _, d := range m.step(&st.own, b, pos) {
			st.conceal(d.start, d.n)
		}
		for _, d := range m.step(&m.merged, b, seq) {
			m.concealMerged(d.start, d.n)
		}
	}
	m.release()
	if m.err != nil {
		return 0, m.err
	}
	return len(p), nil
}

// Close conceals truncated secrets at the end and writes everything held.
func (m *Masker) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.secrets) == 0 {
		return nil
	}
	for _, st := range m.streams {
		for _, p := range st.own.actives {
			if p.n >= MinMaskLen {
				st.conceal(p.start, p.n)
			}
		}
		st.own.actives = nil
	}
	for _, p := range m.merged.actives {
		if p.n >= MinMaskLen {
			m.concealMerged(p.start, p.n)
		}
	}
	m.merged.actives = nil
	m.release()
	return m.err
}

// step advances v's partial matches over b at position pos and returns the
// matches b completed.
func (m *Masker) step(v *matchView, b byte, pos int64) []span {
	m.done = m.done[:0]
	keep := v.actives[:0]
	for _, p := range v.actives {
		s := m.secrets[p.secret]
		if s[p.n] != b {
			continue
		}
		p.n++
		if p.n == len(s) {
			m.done = append(m.done, span{p.start, p.n})
			continue
		}
		keep = append(keep, p)
	}
	v.actives = keep
	// Every secret is at least MinMaskLen long, so one byte never
	// completes one.
	for _, i := range m.byFirst[b] {
		v.actives = append(v.actives, partial{secret: i, start: pos, n: 1})
	}
	return m.done
}

// holdFrom is the first position v may still need.
func (v *matchView) holdFrom(next int64) int64 {
	if len(v.actives) > 0 {
		return v.actives[0].start
	}
	return next
}

func (st *maskStream) conceal(start int64, n int) {
	for i := start - st.base; i < start-st.base+int64(n); i++ {
		st.q[i].concealed = true
	}
}

func (m *Masker) concealMerged(start int64, n int) {
	for seq := start; seq < start+int64(n); seq++ {
		r := m.ring[seq%int64(len(m.ring))]
		st := m.streams[r.stream]
		st.q[r.pos-st.base].concealed = true
	}
}

// release writes, per stream, the bytes neither view can still need.
func (m *Masker) release() {
	mergedFrom := m.merged.holdFrom(m.seq)
	for _, st := range m.streams {
		ownFrom := st.own.holdFrom(st.base + int64(len(st.q)))
		n := 0
		st.buf = st.buf[:0]
		for n < len(st.q) && st.base+int64(n) < ownFrom && st.q[n].seq < mergedFrom {
			h := st.q[n]
			switch {
			case !h.concealed:
				st.buf = append(st.buf, h.b)
				st.inRun = false
			case !st.inRun:
				st.buf = append(st.buf, Concealed...)
				st.inRun = true
			}
			n++
		}
		if n == 0 {
			continue
		}
		st.q = append(st.q[:0], st.q[n:]...)
		st.base += int64(n)
		if len(st.buf) > 0 && m.err == nil {
			_, m.err = st.out.Write(st.buf)
		}
	}
}
