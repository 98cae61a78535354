// Package execenv runs a program with the environment kr resolved: in place
// of kr (execve) where it can, else as a child whose signals are forwarded,
// whose exit status becomes kr's, and whose output can be masked.
package execenv

import (
	"bytes"
	"io"
	"sort"
	"sync"
)

// Concealed replaces a secret in masked output.
const Concealed = "<concealed by kr>"

// MinMaskLen is the shortest value --mask hides: masking "1" or "yes" would
// garble all output while hiding nothing.
const MinMaskLen = 4

// Masker replaces secrets in a program's stdout and stderr. Both streams go
// through one state, in the order their bytes arrive, so a secret written
// half to stdout and half to stderr is still caught: the marker goes to the
// stream the secret began on and the rest is dropped.
//
// Bytes that could be the start of a secret are held back until the next
// write proves them otherwise, and never shown early: a prompt ending in
// the first letters of a secret appears only once more output follows or
// the program ends. At the end, a held fragment is released only when it
// is shorter than MinMaskLen; a longer one (a truncated secret) is
// concealed too.
type Masker struct {
	mu      sync.Mutex
	secrets [][]byte // longest first
	outs    []io.Writer
	pending []tagged
	err     error
}

type tagged struct {
	b      byte
	stream int
}

// NewMasker masks secrets (those of at least MinMaskLen bytes) in writes to
// the returned writers, which forward to outs.
func NewMasker(secrets [][]byte, outs ...io.Writer) (*Masker, []io.Writer) {
	m := &Masker{outs: outs}
	for _, s := range secrets {
		if len(s) >= MinMaskLen {
			m.secrets = append(m.secrets, bytes.Clone(s))
		}
	}
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	ws := make([]io.Writer, len(outs))
	for i := range outs {
		ws[i] = streamWriter{m, i}
	}
	return m, ws
}

type streamWriter struct {
	m      *Masker
	stream int
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	for _, b := range p {
		w.m.pending = append(w.m.pending, tagged{b, w.stream})
	}
	w.m.drain(false)
	if w.m.err != nil {
		return 0, w.m.err
	}
	return len(p), nil
}

// Close flushes what is held at the end of both streams.
func (m *Masker) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drain(true)
	return m.err
}

// drain emits every pending byte that cannot be part of a secret, and the
// marker for every whole secret found.
func (m *Masker) drain(final bool) {
	var out [][]byte = make([][]byte, len(m.outs))
	i := 0
	for i < len(m.pending) {
		matched, partial := m.matchAt(i, final)
		if matched > 0 {
			s := m.pending[i].stream
			out[s] = append(out[s], Concealed...)
			i += matched
			continue
		}
		if partial && !final {
			break // may become a secret: hold from here on
		}
		if partial && final && len(m.pending)-i >= MinMaskLen {
			s := m.pending[i].stream
			out[s] = append(out[s], Concealed...)
			i = len(m.pending)
			break
		}
		out[m.pending[i].stream] = append(out[m.pending[i].stream], m.pending[i].b)
		i++
	}
	m.pending = append(m.pending[:0], m.pending[i:]...)
	for s, b := range out {
		if len(b) > 0 && m.err == nil {
			_, m.err = m.outs[s].Write(b)
		}
	}
}

// matchAt reports the length of a whole secret starting at pending[i], or
// whether the rest of pending is a proper prefix of one. While a longer
// secret may still complete, a shorter whole one does not count yet, so
// the longer one is not left half shown.
func (m *Masker) matchAt(i int, final bool) (matched int, partial bool) {
	rest := m.pending[i:]
	for _, s := range m.secrets {
		n := min(len(s), len(rest))
		eq := true
		for j := 0; j < n; j++ {
			if rest[j].b != s[j] {
				eq = false
				break
			}
		}
		if !eq {
			continue
		}
		if n == len(s) {
			if partial && !final {
				return 0, true
			}
			return len(s), false
		}
		partial = true
	}
	return 0, partial
}
