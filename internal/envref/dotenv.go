// Package envref builds the environment kr hands a program: dotenv files,
// kr://NAME references resolved through a store, and the trust record that
// lets a project's .kr.env load only after `kr allow`.
package envref

import (
	"bytes"
	"fmt"
	"strings"
)

// Var is one assignment from an env file or the command line.
type Var struct {
	Key   string
	Value string
	Line  int // 1-based line in its file; 0 when not from a file
}

// MaxFileSize bounds an env file.
const MaxFileSize = 1 << 20

// ParseError reports where a file is malformed, and never what is there:
// the text of a malformed line may be part of a secret (an unquoted
// multi-line key puts its base64 lines where names belong). Msg is always
// one of the fixed messages below.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// The parser's messages. They are constants so that no byte of the input
// can reach an error.
const (
	msgNUL           = "NUL byte"
	msgStrayCR       = "stray carriage return"
	msgTrailingText  = "unexpected text after the value (quote the whole value, or put a space before a comment)"
	msgExpectedKey   = "expected KEY=value"
	msgInvalidName   = "invalid variable name (use letters, digits and _, not starting with a digit; a value that spans lines must be in double quotes)"
	msgExpectedEqual = "expected '=' after the variable name (a value that spans lines must be in double quotes)"
	msgUnterminated1 = "unterminated single quote"
	msgUnterminated2 = "unterminated double quote"
	msgUnknownEscape = "unknown escape in double quotes (use \\n \\r \\t \\\" \\\\ \\$ or single quotes)"
)

// parseMessages lists every message a ParseError can carry.
var parseMessages = []string{msgNUL, msgStrayCR, msgTrailingText, msgExpectedKey, msgInvalidName,
	msgExpectedEqual, msgUnterminated1, msgUnterminated2, msgUnknownEscape}

// Parse reads dotenv syntax:
//
//	KEY=value            # unquoted: trailing spaces and " #..." comments dropped
//	export KEY=value     # the export prefix is accepted
//	KEY='literal $x \n'  # single quotes: nothing is special
//	KEY="a\nb \"q\" \$"  # double quotes: \n \r \t \" \\ \$ escapes, may span lines
//	# comment lines and blank lines
//
// Nothing is expanded: $VAR stays as written, so a file cannot read other
// variables by accident. Values of the form kr://NAME are references.
func Parse(b []byte, name string) ([]Var, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(b, 0) >= 0 {
		line := 1 + bytes.Count(b[:bytes.IndexByte(b, 0)], []byte("\n"))
		return nil, &ParseError{name, line, msgNUL}
	}
	p := &parser{src: string(b), file: name, line: 1}
	var vars []Var
	for !p.eof() {
		v, ok, err := p.assignment()
		if err != nil {
			return nil, err
		}
		if ok {
			vars = append(vars, v)
		}
	}
	return vars, nil
}

type parser struct {
	src  string
	pos  int
	file string
	line int
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// fail reports msg at the current line; msg is one of the constants above.
func (p *parser) fail(msg string) error {
	return &ParseError{p.file, p.line, msg}
}

func (p *parser) skipSpaces() {
	for !p.eof() && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// endLine consumes the rest of a line that may hold only spaces and a
// comment.
func (p *parser) endLine() error {
	p.skipSpaces()
	if p.eof() {
		return nil
	}
	switch p.src[p.pos] {
	case '#':
		for !p.eof() && p.src[p.pos] != '\n' {
			p.pos++
		}
	case '\r':
		if p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n' {
			p.pos++
		} else {
			return p.fail(msgStrayCR)
		}
	case '\n':
	default:
		return p.fail(msgTrailingText)
	}
	if !p.eof() {
		p.pos++ // the newline
		p.line++
	}
	return nil
}

func (p *parser) assignment() (Var, bool, error) {
	p.skipSpaces()
	if p.eof() {
		return Var{}, false, nil
	}
	if c := p.src[p.pos]; c == '#' || c == '\n' || c == '\r' {
		return Var{}, false, p.endLine()
	}
	line := p.line
	key := p.word()
	if key == "export" {
		p.skipSpaces()
		if !p.eof() && p.src[p.pos] != '=' {
			key = p.word()
		}
	}
	if key == "" {
		return Var{}, false, p.fail(msgExpectedKey)
	}
	if !validKey(key) {
		return Var{}, false, p.fail(msgInvalidName)
	}
	p.skipSpaces()
	if p.eof() || p.src[p.pos] != '=' {
		return Var{}, false, p.fail(msgExpectedEqual)
	}
	p.pos++
	p.skipSpaces()
	var val string
	var err error
	switch {
	case p.eof():
	case p.src[p.pos] == '\'':
		val, err = p.singleQuoted()
	case p.src[p.pos] == '"':
		val, err = p.doubleQuoted()
	default:
		val = p.unquoted()
	}
	if err != nil {
		return Var{}, false, err
	}
	if err := p.endLine(); err != nil {
		return Var{}, false, err
	}
	return Var{Key: key, Value: val, Line: line}, true, nil
}

func (p *parser) word() string {
	start := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if c == '=' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return k != ""
}

func (p *parser) unquoted() string {
	start := p.pos
	end := p.pos
	for !p.eof() {
		c := p.src[p.pos]
		if c == '\n' || c == '\r' {
			break
		}
		if c == '#' && p.pos > start && (p.src[p.pos-1] == ' ' || p.src[p.pos-1] == '\t') {
			break
		}
		p.pos++
		if c != ' ' && c != '\t' {
			end = p.pos
		}
	}
	v := p.src[start:end]
	p.pos = end
	return v
}

func (p *parser) singleQuoted() (string, error) {
	startLine := p.line
	p.pos++
	i := strings.IndexByte(p.src[p.pos:], '\'')
	if i < 0 {
		p.line = startLine
		return "", p.fail(msgUnterminated1)
	}
	v := p.src[p.pos : p.pos+i]
	p.line += strings.Count(v, "\n")
	p.pos += i + 1
	return v, nil
}

func (p *parser) doubleQuoted() (string, error) {
	startLine := p.line
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			p.line = startLine
			return "", p.fail(msgUnterminated2)
		}
		c := p.src[p.pos]
		p.pos++
		switch c {
		case '"':
			return b.String(), nil
		case '\n':
			p.line++
			b.WriteByte(c)
		case '\\':
			if p.eof() {
				continue
			}
			e := p.src[p.pos]
			p.pos++
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '$', '\'', '`':
				b.WriteByte(e)
			case '\n':
				p.line++ // a line continuation
			default:
				return "", p.fail(msgUnknownEscape)
			}
		default:
			b.WriteByte(c)
		}
	}
}
