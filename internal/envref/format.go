package envref

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Formats `kr env` can print.
var Formats = []string{"sh", "fish", "powershell", "dotenv", "json"}

// ErrBadName means a variable's name cannot be written in the chosen
// format as one name and nothing else.
var ErrBadName = errors.New("not a valid name")

// Write prints vars so that the named shell (or parser) reads back every
// value exactly: quotes, $, backslashes, spaces and newlines included.
// Names are written bare, so each must be one the format reads as a name
// and nothing more ([A-Za-z_][A-Za-z0-9_]*; any UTF-8 text for JSON):
// names inherited from the environment were never checked, and "A;rm x;B"
// would run as a command in eval "$(kr env)". One bad name fails the call
// before anything is written.
func Write(w io.Writer, format string, vars []Var) error {
	for _, v := range vars {
		if format == "json" && !utf8.ValidString(v.Key) || format != "json" && !validKey(v.Key) {
			return fmt.Errorf("variable name %q: %w for %s", v.Key, ErrBadName, format)
		}
		if strings.IndexByte(v.Value, 0) >= 0 {
			return fmt.Errorf("variable %s: %w", v.Key, ErrNUL)
		}
	}
	switch format {
	case "json":
		m := make(map[string]string, len(vars))
		for _, v := range vars {
			m[v.Key] = v.Value
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	case "sh", "fish", "powershell", "dotenv":
	default:
		return fmt.Errorf("unknown format %q (choose one of %s)", format, strings.Join(Formats, ", "))
	}
	var b strings.Builder
	for _, v := range vars {
		switch format {
		case "sh":
			fmt.Fprintf(&b, "export %s=%s\n", v.Key, QuoteSh(v.Value))
		case "fish":
			fmt.Fprintf(&b, "set -gx %s %s\n", v.Key, QuoteFish(v.Value))
		case "powershell":
			fmt.Fprintf(&b, "$env:%s = %s\n", v.Key, QuotePowerShell(v.Value))
		case "dotenv":
			fmt.Fprintf(&b, "%s=%s\n", v.Key, QuoteDotenv(v.Value))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// QuoteSh: POSIX single quotes, in which nothing is special but the quote.
func QuoteSh(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteFish: fish single quotes, where only \\ and \' are escapes.
func QuoteFish(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// QuotePowerShell: a verbatim string, where a quote is doubled. PowerShell
// also takes the typographic quotes U+2018-U+201B as quotes: double them too.
func QuotePowerShell(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// QuoteDotenv: double quotes with the escapes Parse reads.
func QuoteDotenv(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`, "\r", `\r`, "`", "\\`").Replace(s) + `"`
}
