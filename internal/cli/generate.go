package cli

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// charsetNames lists the charsets `kr set --generate` draws from.
const charsetNames = "alnum, alpha, digits, hex, base64url, ascii"

func charset(name string) (string, bool) {
	const (
		upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		lower  = "abcdefghijklmnopqrstuvwxyz"
		digits = "0123456789"
	)
	switch name {
	case "alnum":
		return upper + lower + digits, true
	case "alpha":
		return upper + lower, true
	case "digits":
		return digits, true
	case "hex":
		return digits + "abcdef", true
	case "base64url":
		return upper + lower + digits + "-_", true
	case "ascii":
		// Printable ASCII without the space, which a shell or a config
		// file would trim or split on.
		var b strings.Builder
		for c := byte('!'); c <= '~'; c++ {
			b.WriteByte(c)
		}
		return b.String(), true
	}
	return "", false
}

// maxGenerate bounds --length: far beyond any password, far below a value
// that would need spilling anywhere.
const maxGenerate = 4096

// generate returns length characters drawn uniformly from alphabet with
// crypto/rand. Random bytes at or above the largest multiple of
// len(alphabet) are dropped, so that no character is likelier than
// another (a plain modulo would favour the first 256 % len ones).
func generate(r io.Reader, length int, alphabet string) ([]byte, error) {
	n := len(alphabet)
	if n == 0 || n > 256 {
		return nil, fmt.Errorf("alphabet of %d characters", n)
	}
	limit := 256 - 256%n
	out := make([]byte, 0, length)
	buf := make([]byte, length+length/4+16)
	defer clear(buf)
	for len(out) < length {
		if _, err := io.ReadFull(r, buf); err != nil {
			clear(out)
			return nil, fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < length {
				out = append(out, alphabet[int(b)%n])
			}
		}
	}
	return out, nil
}

// generateFlags are set's flags for a generated value.
type generateFlags struct {
	on      bool
	length  int
	charset string
	print   bool
}

func (g *generateFlags) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&g.on, "generate", false, "store a random value instead of reading one")
	f.IntVar(&g.length, "length", 32, "with --generate: characters in the value")
	f.StringVar(&g.charset, "charset", "alnum", "with --generate: "+charsetNames)
	f.BoolVar(&g.print, "print", false, "with --generate: print the stored value")
}

const generateHelp = `

With --generate kr makes the value itself: --length characters (default 32,
at most 4096) drawn uniformly with the system's cryptographic random source
from --charset: alnum (A-Z a-z 0-9, the default), alpha, digits, hex (0-9
a-f), base64url (alnum, - and _) or ascii (printable ASCII without space).
It prints nothing unless --print is given. A value on stdin is refused then.`

// newValue is the value `kr set` stores: generated, or read as usual.
func (a *App) newValue(name string, g *generateFlags, allowEmpty bool) ([]byte, error) {
	if !g.on {
		return a.readValue(name, allowEmpty)
	}
	alphabet, ok := charset(g.charset)
	if !ok {
		return nil, usagef("unknown charset %q (choose one of %s)", g.charset, charsetNames)
	}
	if g.length < 1 || g.length > maxGenerate {
		return nil, usagef("--length must be 1 to %d", maxGenerate)
	}
	if !a.IO.InIsTTY && pendingInput(a.IO.In) {
		return nil, usagef("--generate makes the value, and stdin holds one too; nothing was stored")
	}
	return generate(rand.Reader, g.length, alphabet)
}

// check refuses the flags that only go with --generate without it.
func (g *generateFlags) check(cmd *cobra.Command) error {
	if g.on {
		return nil
	}
	for _, f := range []string{"length", "charset", "print"} {
		if cmd.Flags().Changed(f) {
			return usagef("--%s goes with --generate", f)
		}
	}
	return nil
}

// show prints a generated value when --print asked for it, like get: a
// newline only on a terminal.
func (g *generateFlags) show(a *App, value []byte) error {
	if !g.on || !g.print {
		return nil
	}
	out := a.stdout()
	if _, err := out.Write(value); err != nil {
		return err
	}
	if a.IO.OutIsTTY {
		_, err := fmt.Fprintln(out)
		return err
	}
	return nil
}

// pendingInput reports whether stdin holds data now, without waiting for
// any: a regular file that is not empty, a pipe or socket with bytes ready
// (or, for readers in tests, bytes left). Data that arrives later is not
// seen; nothing reads it either.
func pendingInput(in io.Reader) bool {
	switch r := in.(type) {
	case *os.File:
		fi, err := r.Stat()
		if err != nil {
			return false
		}
		if fi.Mode().IsRegular() {
			return fi.Size() > 0
		}
		if fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0 {
			return pipeHasData(r)
		}
		return false
	case interface{ Len() int }:
		return r.Len() > 0
	}
	return false
}
