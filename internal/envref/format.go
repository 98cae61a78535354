package envref

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Formats `kr env` can print.
var Formats = []string{"sh", "fish", "powershell", "dotenv", "json"}

// ErrBadName means a variable's name cannot be written in the chosen
// format as one name and nothing else.
var ErrBadName = errors.New("not a valid name")

// ErrNotText means a value is not UTF-8 text, which JSON cannot carry.
var ErrNotText = errors.New("its value is not UTF-8 text, which JSON cannot carry exactly")

// ErrNoDotenvForm means a value has no dotenv spelling that python-dotenv,
// godotenv, compose-go and kr all read back as it is.
var ErrNoDotenvForm = errors.New("its value has no dotenv spelling that python-dotenv, godotenv, docker compose and kr all read the same")

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
		switch format {
		case "dotenv":
			if _, ok := quoteDotenv(v.Value); !ok {
				return fmt.Errorf("variable %s: %w", v.Key, ErrNoDotenvForm)
			}
		case "json":
			// encoding/json would print U+FFFD for each bad byte: another value.
			if !utf8.ValidString(v.Value) {
				return fmt.Errorf("variable %s: %w", v.Key, ErrNotText)
			}
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
			q, _ := quoteDotenv(v.Value)
			fmt.Fprintf(&b, "%s=%s\n", v.Key, q)
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

// quoteDotenv spells s for a dotenv file so that python-dotenv, godotenv,
// compose-go and Parse all read it back unchanged, or reports that no
// spelling does. No one escape set suits them all, so the spelling is
// chosen per value (dotenv_interop_test.go checks every choice against the
// real parsers):
//   - python-dotenv replaces ${NAME} and ${NAME:-x} in every form, quoted
//     or not, and reads a file as UTF-8 text with universal newlines;
//   - in double quotes python-dotenv keeps \$ and \` as two characters,
//     compose-go keeps \`, and godotenv decodes \t as t: only \\, \",
//     \n and \r mean the same to all, so $, tabs and backticks stay raw;
//     a raw $ must then be inert: godotenv expands $NAME of [A-Z0-9_]
//     (also after "(" or "{", and unescapes \$), compose-go $name, ${ and
//     $$; and godotenv ends the value at a quote after a backslash and
//     trims every trailing quote, so the value may not end in \ or ";
//   - single quotes are literal to godotenv and compose-go, but
//     python-dotenv decodes \\ there, and a quote cannot be escaped;
//   - bare values lose surrounding space and a " #" comment.
func quoteDotenv(s string) (string, bool) {
	if !utf8.ValidString(s) || pythonDotenvVariable().MatchString(s) {
		return "", false
	}
	switch {
	case !strings.HasSuffix(s, `\`) && !strings.HasSuffix(s, `"`) && inertDollars(s):
		return `"` + dotenvEscaper().Replace(s) + `"`, true
	case !strings.ContainsAny(s, "'\r") && !strings.Contains(s, `\\`) && !strings.HasSuffix(s, `\`):
		return "'" + s + "'", true
	case bareDotenv(s):
		return s, true
	}
	return "", false
}

// Built on first use, not at package init: every kr run pays for init,
// and only kr env --format dotenv and kr export use these.
var dotenvEscaper = sync.OnceValue(func() *strings.Replacer {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)
})

// pythonDotenvVariable is python-dotenv's own pattern (variables.py).
var pythonDotenvVariable = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\$\{[^}:]*(?::-[^}]*)?\}`)
})

// inertDollars: no reader expands any $ in s when it is written raw.
func inertDollars(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		if i > 0 && s[i-1] == '\\' {
			return false
		}
		rest := s[i+1:]
		if rest == "" {
			continue
		}
		if c := rest[0]; c == '{' || c == '$' || c == '_' || isAlnum(c) {
			return false
		}
		if rest[0] == '(' {
			rest = strings.TrimPrefix(rest[1:], "{")
			if rest != "" && (rest[0] == '_' || '0' <= rest[0] && rest[0] <= '9' || 'A' <= rest[0] && rest[0] <= 'Z') {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// bareDotenv: s reads back unquoted: one line, no space at either end or
// before a #, not starting like a quoted value.
func bareDotenv(s string) bool {
	if s == "" || s[0] == '\'' || s[0] == '"' || strings.ContainsAny(s, "\r\n") || !inertDollars(s) {
		return false
	}
	prev := rune(0)
	for i, r := range s {
		if r == '#' && dotenvSpace(prev) || dotenvSpace(r) && (i == 0 || i+utf8.RuneLen(r) == len(s)) {
			return false
		}
		prev = r
	}
	return true
}

// dotenvSpace: space to any of the readers; Python's str.isspace also
// counts the separators U+001C-U+001F.
func dotenvSpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}
