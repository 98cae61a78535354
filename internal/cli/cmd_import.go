package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/strictjson"
)

// importFormats are the formats import reads and export writes.
const importFormats = "dotenv or json"

func newImportCmd(app *App) *cobra.Command {
	var prefix, format string
	var force, allowEmpty bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Store the variables of a dotenv or JSON file as secrets",
		Long: `Store each variable of FILE ("-" for stdin) as the secret PREFIX+KEY:
  kr import --prefix app/ .env             # DB_PASSWORD=... becomes app/DB_PASSWORD

FILE is dotenv (KEY=value lines, quoted as 'kr env --format dotenv' and
'kr export' write them) or a JSON object of string values, by --format, else by
its extension (.json is JSON, anything else dotenv). JSON keys may be any
valid secret name (db/prod); a value may be {"base64": "..."} for bytes that
are not text, as 'kr export --keep-names' writes them. Values are literal: one of the form kr://NAME is
refused, since it could mean the value or the secret it names.

Everything is checked before anything is written: every name, a key given
twice, an empty value (refused unless --allow-empty), and names that already
exist (refused unless --force). kr reports how many secrets it imported.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if format == "" {
				format = "dotenv"
				if strings.EqualFold(filepath.Ext(path), ".json") {
					format = "json"
				}
			}
			if format != "dotenv" && format != "json" {
				return usagef("unknown format %q (choose %s)", format, importFormats)
			}
			if err := backends.ValidatePrefix(prefix); err != nil {
				return usagef("--prefix: %v", err)
			}
			source := path
			var data []byte
			var err error
			if path == "-" {
				if app.IO.InIsTTY {
					// Typed there, the values would be echoed.
					return usagef("import - reads a file from stdin, and stdin is a terminal")
				}
				source = "stdin"
				data, err = limitio.Read(app.IO.In, source, envref.MaxFileSize)
			} else {
				data, err = limitio.ReadFile(path, envref.MaxFileSize)
			}
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer clear(data)
			entries, err := parseImport(data, format, source)
			if err != nil {
				return withHint(err, "nothing was imported")
			}
			return app.importSecrets(cmd, entries, prefix, source, force, allowEmpty)
		},
	}
	f := cmd.Flags()
	f.StringVar(&prefix, "prefix", "", "put this before every key to make the secret's name (app/)")
	f.StringVar(&format, "format", "", "dotenv or json (default: by FILE's extension)")
	f.BoolVarP(&force, "force", "f", false, "replace secrets that exist")
	f.BoolVar(&allowEmpty, "allow-empty", false, "store empty values (refused otherwise)")
	return cmd
}

// importEntry is one variable of an import file.
type importEntry struct {
	key   string
	value string
	where string // for messages: "FILE line N", or "FILE key K"
	// literal is a value given as base64, which cannot be meant as a
	// reference to another secret.
	literal bool
}

// parseImport reads dotenv or a JSON object of strings. Errors name keys
// and lines, never values.
func parseImport(data []byte, format, source string) ([]importEntry, error) {
	var out []importEntry
	switch format {
	case "json":
		var m map[string]json.RawMessage
		if err := strictjson.Unmarshal(data, &m); err != nil {
			return nil, jsonImportError(source, err)
		}
		for k, raw := range m {
			v, literal, err := importJSONValue(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: the value of %q %v", source, k, err)
			}
			out = append(out, importEntry{key: k, value: v, where: fmt.Sprintf("%s key %q", source, k), literal: literal})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	default:
		vars, err := envref.Parse(data, source)
		if err != nil {
			return nil, err
		}
		first := map[string]int{}
		for _, v := range vars {
			if line, dup := first[v.Key]; dup {
				return nil, fmt.Errorf("%s: %s is set twice (lines %d and %d)", source, v.Key, line, v.Line)
			}
			first[v.Key] = v.Line
			out = append(out, importEntry{key: v.Key, value: v.Value, where: fmt.Sprintf("%s line %d", source, v.Line)})
		}
	}
	return out, nil
}

// importJSONValue reads one value of a JSON import file: a string, or
// {"base64": "..."} as 'kr export --keep-names' writes a value that is not
// UTF-8. Errors never quote the value.
func importJSONValue(raw json.RawMessage) (v string, literal bool, err error) {
	switch {
	case len(raw) > 0 && raw[0] == '"':
		if json.Unmarshal(raw, &v) != nil {
			return "", false, errors.New("is not a JSON string")
		}
		return v, false, nil
	case len(raw) > 0 && raw[0] == '{':
		var b struct {
			Base64 *string `json:"base64"`
		}
		if strictjson.Unmarshal(raw, &b) != nil || b.Base64 == nil {
			return "", false, errors.New(`is neither a string nor {"base64": "..."}`)
		}
		d, err := base64.StdEncoding.DecodeString(*b.Base64)
		if err != nil {
			return "", false, errors.New("holds base64 that does not decode")
		}
		defer clear(d)
		return string(d), true, nil
	}
	return "", false, errors.New(`is neither a string nor {"base64": "..."}`)
}

// jsonImportError says what is wrong with a JSON import file by position
// and key: encoding/json's own messages quote bits of the input, which may
// be a secret.
func jsonImportError(source string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s: not valid JSON (at byte %d)", source, syn.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("%s: holds a JSON %s; want an object of string values", source, typ.Value)
	}
	return fmt.Errorf("%s: %w", source, err)
}

// importSecrets checks every entry, then writes them in order.
func (a *App) importSecrets(cmd *cobra.Command, entries []importEntry, prefix, source string, force, allowEmpty bool) error {
	names := make([]string, len(entries))
	for i, e := range entries {
		name := prefix + e.key
		if err := backends.ValidateName(name); err != nil {
			return withHint(fmt.Errorf("%s: %w", e.where, err), "nothing was imported")
		}
		if _, ok := envref.RefName(e.value); ok && !e.literal {
			return withHint(fmt.Errorf("%s: %s holds a %s reference, which import does not store", e.where, e.key, envref.RefPrefix),
				"import stores values; to refer to a secret, keep the line in an env file for 'kr exec --env-file'")
		}
		if e.value == "" && !allowEmpty {
			return withHint(fmt.Errorf("%s: %s is empty; nothing was imported", e.where, e.key), "--allow-empty stores empty values")
		}
		if len(e.value) > backends.MaxValueSize {
			return fmt.Errorf("%s: %s: %w; nothing was imported", e.where, e.key, backends.ErrTooBig)
		}
		names[i] = name
	}
	ctx, cancel := a.context(cmd.Context())
	defer cancel()
	b, err := a.secrets()
	if err != nil {
		return err
	}
	if !force && len(names) > 0 {
		existing, err := b.List(ctx, prefix)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, n := range existing {
			have[n] = true
		}
		var clash []string
		for _, n := range names {
			if have[n] {
				clash = append(clash, n)
			}
		}
		if len(clash) > 0 {
			what := clash[0] + " already exists"
			if len(clash) > 1 {
				what = fmt.Sprintf("%s and %d more already exist", clash[0], len(clash)-1)
			}
			return withHint(fmt.Errorf("%s; nothing was imported", what), "--force replaces them")
		}
	}
	ns, err := a.namespace()
	if err != nil {
		return err
	}
	if bs, inner, ok, err := ns.Batch(ctx, names); err != nil {
		return err
	} else if ok {
		return a.importBatch(ctx, bs, entries, names, inner, source)
	}
	done := 0
	for i, e := range entries {
		v := []byte(e.value)
		err := b.Set(ctx, names[i], v)
		clear(v)
		if err != nil {
			if done > 0 {
				if rerr := a.recordChoice(); rerr != nil {
					return rerr
				}
			}
			return fmt.Errorf("set %s: %w; %d of %d secrets were imported before it", names[i], err, done, len(entries))
		}
		a.dropCached(ctx, names[i])
		done++
	}
	if done > 0 {
		if err := a.recordChoice(); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: imported %s from %s\n", plural(done, "secret"), source)
	return nil
}

// importBatch stores every entry in one batch, all or none (the file
// vault: one lock and one flush, where a Set per entry paid both each time
// and thousands of them outran the timeout).
func (a *App) importBatch(ctx context.Context, bs backends.BatchSetter, entries []importEntry, names, inner []string, source string) error {
	values := make([][]byte, len(entries))
	for i, e := range entries {
		values[i] = []byte(e.value)
	}
	defer func() {
		for _, v := range values {
			clear(v)
		}
	}()
	if err := bs.SetMany(ctx, inner, values); err != nil {
		return withHint(fmt.Errorf("import: %w", err), "nothing was imported")
	}
	if len(names) > 0 {
		if err := a.recordChoice(); err != nil {
			return err
		}
	}
	for _, n := range names {
		a.dropCached(ctx, n)
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: imported %s from %s\n", plural(len(names), "secret"), source)
	return nil
}
