package envref

import (
	"bytes"
	"fmt"

	"github.com/kr-keyring/kr/backends"
)

// MaxTemplateSize bounds a template `kr inject` reads: configuration files
// are small, and a value may be up to 1 MiB on its own.
const MaxTemplateSize = 4 << 20

// A Template is a text with `{{ kr://NAME }}` references in it. Nothing
// else in the text means anything to kr: other `{{ ... }}` (Go, Jinja,
// Helm templates) pass through untouched.
type Template struct {
	parts []part
}

// part is literal text, or a reference when Name is set.
type part struct {
	text []byte // the literal text, or the reference as written
	Ref
}

// Ref is one reference in a template, for messages.
type Ref struct {
	Name string
	Line int
}

var refOpen = []byte("kr://")

// ParseTemplate finds the references in b. A `{{` followed by optional
// blanks and `kr://` must form a whole reference (a valid name, optional
// blanks, `}}`): a half-written one is an error at its line, never text
// passed through with a secret's name in it.
func ParseTemplate(b []byte) (*Template, error) {
	t := &Template{}
	line := 1
	lit := 0 // start of the pending literal text
	for i := 0; i < len(b); {
		j := bytes.Index(b[i:], []byte("{{"))
		if j < 0 {
			break
		}
		start := i + j
		line += bytes.Count(b[i:start], []byte("\n"))
		k := skipBlanks(b, start+2)
		if !bytes.HasPrefix(b[k:], refOpen) {
			i = start + 1 // not ours; `{{{ kr://x }}` still finds the reference
			continue
		}
		k += len(refOpen)
		n := k
		for n < len(b) && nameByte(b[n]) {
			n++
		}
		name := string(b[k:n])
		end := skipBlanks(b, n)
		if !bytes.HasPrefix(b[end:], []byte("}}")) {
			return nil, fmt.Errorf("line %d: a reference {{ kr://%s must end with }}", line, name)
		}
		if err := backends.ValidateName(name); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if start > lit {
			t.parts = append(t.parts, part{text: b[lit:start]})
		}
		t.parts = append(t.parts, part{text: b[start : end+2], Ref: Ref{Name: name, Line: line}})
		i = end + 2
		lit = i
	}
	if lit < len(b) {
		t.parts = append(t.parts, part{text: b[lit:]})
	}
	return t, nil
}

// skipBlanks returns the first index from i that is not a space or tab.
func skipBlanks(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// nameByte reports whether c may appear in a secret's name.
func nameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '.', '_', '-', '/', '@', '+', ':':
		return true
	}
	return false
}

// Refs lists the template's references in order, repeats included.
func (t *Template) Refs() []Ref {
	var out []Ref
	for _, p := range t.parts {
		if p.Name != "" {
			out = append(out, p.Ref)
		}
	}
	return out
}

// Render returns the text with each reference replaced by values[name],
// byte for byte. Values are inserted, never read again: a value holding
// `{{ kr://x }}` stays as it is. Every reference must have a value.
func (t *Template) Render(values map[string][]byte) []byte {
	n := 0
	for _, p := range t.parts {
		n += len(p.text) + len(values[p.Name])
	}
	out := make([]byte, 0, n)
	for _, p := range t.parts {
		if p.Name != "" {
			out = append(out, values[p.Name]...)
		} else {
			out = append(out, p.text...)
		}
	}
	return out
}
