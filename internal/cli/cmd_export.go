package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/envref"
)

func newExportCmd(app *App) *cobra.Command {
	var format string
	var tty, keepNames bool
	cmd := &cobra.Command{
		Use:   "export PREFIX",
		Short: "Print the secrets under PREFIX as a dotenv file or JSON",
		Long: `Print every secret whose name starts with PREFIX as a variable, in dotenv
syntax that 'kr import' and 'kr exec --env-file' read back exactly (quotes, $,
backslashes, newlines included), or as a JSON object with --format json:
  kr export app/ > app.env
  kr import --prefix app/ app.env          # the same secrets again

Names become variables by one rule: the part after PREFIX (and after a "/"
that follows it), upper-cased, with every character other than A-Z, 0-9 and _
replaced by _, and _ put first when it would start with a digit: with PREFIX
app/, app/db-password becomes DB_PASSWORD and app/2fa/seed becomes _2FA_SEED.
Two names that become one variable are an error naming both, before any value
is read. Values are read as 'kr get' reads them (the file vault must be
unlocked). kr refuses to print secrets to a terminal unless --tty is given.

With --keep-names --format json, the keys are the full secret names and every
value is kept byte for byte: text as a JSON string, anything that is not UTF-8
as {"base64": "..."}. 'kr import' reads that back under the same names, so
this copies any store into any other (PREFIX may be left out: everything):
  kr export --keep-names --format json | kr --backend file import -`,
		Args:              cobra.RangeArgs(0, 1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dotenv" && format != "json" {
				return usagef("unknown format %q (choose %s)", format, importFormats)
			}
			if keepNames && format != "json" {
				return usagef("--keep-names writes JSON: add --format json")
			}
			prefix := ""
			switch {
			case len(args) == 1:
				prefix = args[0]
			case !keepNames:
				return usagef("kr export takes PREFIX (every secret whose name starts with it); with --keep-names it may be left out")
			}
			if err := backends.ValidatePrefix(prefix); err != nil {
				return usagef("%v", err)
			}
			if app.IO.OutIsTTY && !tty {
				return withHint(usagef("stdout is a terminal; kr does not print secrets on it without --tty"),
					"redirect it to a file or a program (kr export %s > FILE), or add --tty", prefix)
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			names, err := b.List(ctx, prefix)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				fmt.Fprintf(app.IO.ErrOut, "kr: no secret names start with %q\n", prefix)
			}
			if keepNames {
				return app.exportNamed(ctx, names)
			}
			keys, err := exportKeys(prefix, names)
			if err != nil {
				return err
			}
			vars := make([]envref.Var, len(names))
			for i, name := range names {
				v, err := app.get(ctx, name)
				if err != nil {
					return err
				}
				switch {
				case bytes.IndexByte(v, 0) >= 0:
					err = fmt.Errorf("%s holds a NUL byte, which no env file or environment can carry", name)
				case format == "json" && !utf8.Valid(v):
					err = withHint(fmt.Errorf("%s is not UTF-8 text, which JSON cannot carry", name), "use --format dotenv")
				}
				vars[i] = envref.Var{Key: keys[i], Value: string(v)}
				clear(v)
				if err != nil {
					return err
				}
			}
			var buf bytes.Buffer
			defer func() { clear(buf.Bytes()) }()
			if err := envref.Write(&buf, format, vars); err != nil {
				switch {
				case errors.Is(err, envref.ErrNoDotenvForm):
					return withHint(err, "use --format json, which carries any UTF-8 value")
				case errors.Is(err, envref.ErrNotText):
					return withHint(err, "that value is binary: read it with 'kr get', which writes it byte for byte")
				}
				return err
			}
			_, err = app.stdout().Write(buf.Bytes())
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "dotenv", "dotenv or json")
	cmd.Flags().BoolVar(&keepNames, "keep-names", false, "JSON keyed by full secret names, any bytes (binary as {\"base64\": ...}): 'kr import' restores them into any store")
	registerCompletion(cmd, "format", completeWords([]string{"dotenv", "json"}))
	cmd.Flags().BoolVar(&tty, "tty", false, "print to a terminal too")
	cmd.Flags().BoolVarP(&tty, "force", "f", false, "the same as --tty")
	return cmd
}

// namedValue is a value of an export with --keep-names: text as a JSON
// string, anything else as {"base64": ...}, which import reads back.
type namedValue struct {
	text   string
	binary []byte
}

func (v namedValue) MarshalJSON() ([]byte, error) {
	if v.binary != nil {
		return json.Marshal(struct {
			Base64 string `json:"base64"`
		}{base64.StdEncoding.EncodeToString(v.binary)})
	}
	return json.Marshal(v.text)
}

// exportNamed writes names with their values as one JSON object keyed by
// the full names.
func (a *App) exportNamed(ctx context.Context, names []string) error {
	out := make(map[string]namedValue, len(names))
	for _, name := range names {
		v, err := a.get(ctx, name)
		if err != nil {
			return err
		}
		// A value that reads as a reference goes as base64 too: import
		// refuses a kr:// string, which could mean either.
		if _, ref := envref.RefName(string(v)); utf8.Valid(v) && !ref {
			out[name] = namedValue{text: string(v)}
		} else {
			out[name] = namedValue{binary: bytes.Clone(v)}
		}
		clear(v)
	}
	defer func() {
		for _, v := range out {
			clear(v.binary)
		}
	}()
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	defer clear(b)
	_, err = a.stdout().Write(append(b, '\n'))
	return err
}

// exportKeys maps names under prefix to variable names by the documented
// rule, refusing names that give no variable or the same one.
func exportKeys(prefix string, names []string) ([]string, error) {
	keys := make([]string, len(names))
	from := map[string]string{}
	for i, name := range names {
		k := exportKey(prefix, name)
		if k == "" {
			return nil, fmt.Errorf("%s is the prefix itself, so it has no variable name", name)
		}
		if other, dup := from[k]; dup {
			return nil, withHint(fmt.Errorf("%s and %s both become %s", other, name, k), "rename one ('kr mv'), or export a longer prefix")
		}
		from[k], keys[i] = name, k
	}
	return keys, nil
}

// exportKey is the variable for name: the part after prefix (less one
// leading "/"), upper-cased, every byte outside [A-Z0-9_] as "_", and "_"
// first when it would start with a digit.
func exportKey(prefix, name string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(name, prefix), "/")
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
		default:
			c = '_'
		}
		if i == 0 && '0' <= c && c <= '9' {
			b.WriteByte('_')
		}
		b.WriteByte(c)
	}
	return b.String()
}
