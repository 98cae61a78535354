package pinentry

// The Assuan side: lines, responses and percent-escaping, as libassuan
// writes and reads them (a line is at most 1000 bytes, without its LF).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxLine is Assuan's line length (ASSUAN_LINELENGTH) plus CR and LF.
const maxLine = 1002

// maxData bounds the decoded bytes of one answer: a passphrase, not a file.
const maxData = 64 << 10

// command is verb and its argument, percent-escaped, cut to fit one line.
// The text is the dialog's wording, never a secret.
func command(verb, arg string) []byte {
	line := append([]byte(verb), ' ')
	for _, r := range arg { // whole characters: a cut never splits one
		var esc []byte
		switch r {
		case '%', '\n', '\r':
			esc = []byte(fmt.Sprintf("%%%02X", r))
		default:
			esc = []byte(string(r))
		}
		if len(line)+len(esc) > maxLine-2 {
			break
		}
		line = append(line, esc...)
	}
	return line
}

// lineReader reads LF-ended lines into a buffer it owns, so that the line
// holding a passphrase can be wiped (a bufio.Reader keeps its own copy).
type lineReader struct {
	r        io.Reader
	buf      [2 * maxLine]byte
	start, n int // buf[start:n] is read and not yet returned
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{r: r} }

// readLine returns the next line without its LF (and CR), valid until the
// next call.
func (l *lineReader) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(l.buf[l.start:l.n], '\n'); i >= 0 {
			line := l.buf[l.start : l.start+i]
			l.start += i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return line, nil
		}
		if l.n-l.start >= maxLine {
			return nil, errors.New("pinentry sent a line longer than Assuan allows")
		}
		if l.start > 0 {
			// Move what is left to the front and wipe where it was.
			m := copy(l.buf[:], l.buf[l.start:l.n])
			clear(l.buf[m:l.n])
			l.start, l.n = 0, m
		}
		k, err := l.r.Read(l.buf[l.n:])
		l.n += k
		if k > 0 {
			continue
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return nil, err
	}
}

func (l *lineReader) wipe() { clear(l.buf[:]) }

type kind int

const (
	kindOK kind = iota
	kindErr
	kindData
	kindStatus
	kindComment
	kindInquire
)

// response is one parsed line. data aliases the line (still escaped).
type response struct {
	kind kind
	data []byte
	err  *AssuanError
}

// parseResponse reads one line from the server. Unknown lines are an
// error: a program that speaks something else is not a pinentry.
func parseResponse(line []byte) (response, error) {
	word, rest, _ := bytes.Cut(line, []byte{' '})
	switch string(word) {
	case "OK":
		return response{kind: kindOK}, nil
	case "ERR":
		num, text, _ := bytes.Cut(rest, []byte{' '})
		if len(num) == 0 {
			return response{}, errors.New("pinentry sent ERR without a code")
		}
		return response{kind: kindErr, err: &AssuanError{Code: parseErrCode(string(num)), Text: printable(text)}}, nil
	case "D":
		return response{kind: kindData, data: rest}, nil
	case "S":
		return response{kind: kindStatus, data: rest}, nil
	case "INQUIRE":
		return response{kind: kindInquire, data: rest}, nil
	}
	if len(line) > 0 && line[0] == '#' {
		return response{kind: kindComment}, nil
	}
	return response{}, fmt.Errorf("pinentry sent a line that is not Assuan (%d bytes)", len(line))
}

// appendDecoded appends src, percent-decoded, to dst. It grows dst by hand
// so that no copy of a passphrase is left behind in a buffer let go.
func appendDecoded(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '%' {
			if i+2 >= len(src) {
				return dst, errors.New("pinentry sent a cut percent escape")
			}
			h, ok1 := unhex(src[i+1])
			l, ok2 := unhex(src[i+2])
			if !ok1 || !ok2 {
				return dst, errors.New("pinentry sent a bad percent escape")
			}
			c = h<<4 | l
			i += 2
		}
		if len(dst) == maxData {
			return dst, fmt.Errorf("pinentry sent more than %d bytes", maxData)
		}
		if len(dst) == cap(dst) {
			bigger := make([]byte, len(dst), 2*cap(dst)+64)
			copy(bigger, dst)
			clear(dst)
			dst = bigger
		}
		dst = append(dst, c)
	}
	return dst, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// printable is an error text from the program, kept to what a terminal
// shows safely.
func printable(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}
