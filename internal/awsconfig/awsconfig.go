// Package awsconfig reads and edits the AWS shared config and credentials
// files (~/.aws/config, ~/.aws/credentials) as botocore, the AWS CLI's
// library, reads them: Python's configparser (RawConfigParser, strict)
// for the lines, botocore's profile map for the names. Whatever kr writes
// lands in the section the AWS tools read for the profile, and every other
// line of the file stays as it was.
//
// What configparser does, and so this package:
//   - lines end at \n, \r\n or \r; a line whose first non-blank character
//     is # or ; is a comment, even inside a value; no inline comments;
//   - a section header is "[" then anything then "]", the name running to
//     the last "]" of the line ("[profile prod] # note" is profile prod);
//     the name keeps the blanks inside the brackets;
//   - an option is "key = value" or "key: value"; keys are lowercase;
//     a line indented deeper than its option's line continues the value;
//   - a section or option that appears twice, a line before any section
//     and a line that is neither are errors (the AWS tools refuse the
//     file);
//   - [DEFAULT] gives every other section its options.
//
// And what botocore adds, for the config file: [default] is profile
// default; a section whose name starts with "profile" and splits (shell
// rules) into two words names the profile of its second word; when
// several sections name one profile, the last one is the profile. In the
// credentials file each section is the profile of its name.
package awsconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says which of the two files a File is: they name profiles
// differently.
type Kind int

const (
	Config      Kind = iota // [default], [profile NAME]
	Credentials             // [NAME]
)

// defaultSection is configparser's section whose options every other
// section has too.
const defaultSection = "DEFAULT"

type line struct{ text, eol string }

type option struct {
	key, value  string
	first, last int // lines of the key and of its last continuation
}

type section struct {
	name   string
	header int // line of the header
	last   int // last line of the header or an option of the section
	opts   []option
}

func (s *section) get(key string) (option, bool) {
	for _, o := range s.opts {
		if o.key == key {
			return o, true
		}
	}
	return option{}, false
}

// File is a parsed config or credentials file.
type File struct {
	kind     Kind
	lines    []line
	sections []*section // in the file's order, without DEFAULT
	defaults *section
}

// isSpace is Python's str.isspace, which configparser's strip and \s use:
// Unicode white space and the separators U+001C..U+001F.
func isSpace(r rune) bool { return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f }

func strip(s string) string { return strings.TrimFunc(s, isSpace) }

// indent is the number of characters before the first non-blank one.
func indent(s string) int {
	n := 0
	for _, r := range s {
		if !isSpace(r) {
			return n
		}
		n++
	}
	return 0 // a blank line: configparser's NONSPACECRE finds nothing
}

// leading is the blank start of s.
func leading(s string) string { return s[:len(s)-len(strings.TrimLeftFunc(s, isSpace))] }

// splitLines splits at \n, \r\n and \r (Python's universal newlines),
// keeping each line's end.
func splitLines(s string) []line {
	var out []line
	for s != "" {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			out = append(out, line{s, ""})
			break
		}
		eol := s[i : i+1]
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			eol = "\r\n"
		}
		out = append(out, line{s[:i], eol})
		s = s[i+len(eol):]
	}
	return out
}

// headerName returns the section name of a stripped line, if it is a
// header: configparser's \[(?P<header>.+)\] matched at the start.
func headerName(v string) (string, bool) {
	if !strings.HasPrefix(v, "[") {
		return "", false
	}
	j := strings.LastIndex(v, "]")
	if j < 2 {
		return "", false
	}
	return v[1:j], true
}

// Parse reads data as kind. The error names the line, never its content:
// a credentials file holds keys.
func Parse(data []byte, kind Kind) (*File, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8 text")
	}
	f := &File{kind: kind, lines: splitLines(string(data))}
	seen := map[string]bool{}
	var cur *section
	var opt *option
	level := -1 // indent of the last option or header; -1: none yet
	blanks := 0 // empty lines since the last line of a value
	for i, ln := range f.lines {
		v := strip(ln.text)
		if strings.HasPrefix(v, "#") || strings.HasPrefix(v, ";") {
			continue
		}
		if v == "" {
			blanks++ // part of the value if a continuation follows
			continue
		}
		in := indent(ln.text)
		if cur != nil && opt != nil && in > level {
			opt.value += strings.Repeat("\n", blanks) + "\n" + v
			blanks = 0
			opt.last = i
			cur.last = i
			continue
		}
		level, blanks = in, 0
		if name, ok := headerName(v); ok {
			if name == defaultSection {
				if f.defaults == nil {
					f.defaults = &section{name: name, header: i, last: i}
				}
				cur = f.defaults
			} else {
				if seen[name] {
					return nil, fmt.Errorf("line %d: a section appears twice", i+1)
				}
				seen[name] = true
				cur = &section{name: name, header: i, last: i}
				f.sections = append(f.sections, cur)
			}
			opt = nil
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("line %d: a line before the first [section]", i+1)
		}
		j := strings.IndexAny(v, "=:")
		key := strings.ToLower(strings.TrimRightFunc(v[:max(j, 0)], isSpace))
		if j < 0 || key == "" {
			return nil, fmt.Errorf("line %d: neither a [section] nor key = value", i+1)
		}
		if _, dup := cur.get(key); dup {
			return nil, fmt.Errorf("line %d: a key appears twice in its section", i+1)
		}
		cur.opts = append(cur.opts, option{key: key, value: strip(v[j+1:]), first: i, last: i})
		opt = &cur.opts[len(cur.opts)-1]
		cur.last = i
	}
	// configparser joins a value's lines and strips its end.
	for _, s := range append(slices.Clone(f.sections), f.defaults) {
		if s == nil {
			continue
		}
		for k := range s.opts {
			s.opts[k].value = strings.TrimRightFunc(s.opts[k].value, isSpace)
		}
	}
	return f, nil
}

// profileOf returns the profile a section of the config file names.
func profileOf(name string, kind Kind) (string, bool) {
	if kind == Credentials {
		return name, true
	}
	if name == "default" {
		return name, true
	}
	if !strings.HasPrefix(name, "profile") {
		return "", false
	}
	words, err := shellSplit(name)
	if err != nil || len(words) != 2 {
		return "", false
	}
	return words[1], true
}

// profile returns the section that is profile name, or nil.
func (f *File) profile(name string) *section {
	var found *section
	for _, s := range f.sections {
		if p, ok := profileOf(s.name, f.kind); ok && p == name {
			found = s // the last one wins
		}
	}
	return found
}

// Get returns the value of key in profile, and whether the profile has it
// (its own, or its [DEFAULT]'s).
func (f *File) Get(profile, key string) (string, bool) {
	s := f.profile(profile)
	if s == nil {
		return "", false
	}
	if o, ok := s.get(key); ok {
		return o.value, true
	}
	if f.defaults != nil {
		if o, ok := f.defaults.get(key); ok {
			return o.value, true
		}
	}
	return "", false
}

// Profiles returns every profile with its options, as the AWS tools see
// them.
func (f *File) Profiles() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, s := range f.sections {
		p, ok := profileOf(s.name, f.kind)
		if !ok {
			continue
		}
		m := map[string]string{}
		if f.defaults != nil {
			for _, o := range f.defaults.opts {
				m[o.key] = o.value
			}
		}
		for _, o := range s.opts {
			m[o.key] = o.value
		}
		out[p] = m
	}
	return out
}

// Set returns the file with key = value in profile: the profile's own key
// replaced in place, else added after the section's last option, else a
// new section at the end. Every other line is kept byte for byte. It fails
// when the result would not read back as that (a profile name the header
// cannot carry).
func (f *File) Set(profile, key, value string) ([]byte, error) {
	entry := key + " = " + value
	lines := slices.Clone(f.lines)
	eol := "\n"
	for _, l := range lines {
		if l.eol != "" {
			eol = l.eol // the file's own line end
			break
		}
	}
	if s := f.profile(profile); s != nil {
		if o, ok := s.get(key); ok {
			lines[o.first].text = leading(f.lines[o.first].text) + entry
			lines = slices.Delete(lines, o.first+1, o.last+1)
		} else {
			// As deep as the section's last option (or its header): the
			// lines after it keep their meaning.
			ref := s.header
			if len(s.opts) > 0 {
				ref = s.opts[len(s.opts)-1].first
			}
			if lines[s.last].eol == "" {
				lines[s.last].eol = eol
			}
			lines = slices.Insert(lines, s.last+1, line{leading(f.lines[ref].text) + entry, eol})
		}
	} else {
		header, err := f.header(profile)
		if err != nil {
			return nil, err
		}
		if n := len(lines); n > 0 {
			if lines[n-1].eol == "" {
				lines[n-1].eol = eol
			}
			if strip(lines[n-1].text) != "" {
				lines = append(lines, line{"", eol})
			}
		}
		lines = append(lines, line{header, eol}, line{entry, eol})
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	out := []byte(b.String())
	// Read it back as the AWS tools will.
	g, err := Parse(out, f.kind)
	if err != nil {
		return nil, fmt.Errorf("profile %s: the file would not read back: %w", profile, err)
	}
	if got, _ := g.Get(profile, key); got != value {
		return nil, fmt.Errorf("profile %s: the AWS tools would not read what kr writes for it", profile)
	}
	return out, nil
}

// header is the header of a new section for profile.
func (f *File) header(profile string) (string, error) {
	if f.kind == Credentials || profile == "default" {
		return "[" + profile + "]", nil
	}
	if strings.ContainsAny(profile, " \t\r\n\"'\\") {
		if strings.Contains(profile, "'") {
			return "", fmt.Errorf("profile %q: a name with a quote and a blank cannot be written", profile)
		}
		return "[profile '" + profile + "']", nil
	}
	return "[profile " + profile + "]", nil
}

// shellSplit is Python's shlex.split (POSIX mode), which botocore applies
// to "profile NAME".
func shellSplit(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	const blank = " \t\r\n"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(blank, c) >= 0:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("no escaped character")
			}
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("no closing quotation")
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errors.New("no closing quotation")
			}
			inWord = true
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// SplitCommand splits a credential_process value into a command and its
// arguments as botocore does (shell rules, no shell run).
func SplitCommand(s string) ([]string, error) { return shellSplit(s) }
