package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/limitio"
)

// setOptions is what kr set was asked to do.
type setOptions struct {
	Name       string
	AllowEmpty bool // --allow-empty
	Force      bool // -f: no overwrite question
	Trim       bool // --trim-newline: drop the newline echo adds
	Gen        generateFlags
}

func newSetCmd(app *App) *cobra.Command { return setCmd(app, app.runSet) }

// setCmd parses kr set's command line into setOptions and hands them to
// run: app.runSet, or a test's, to check the parsing alone.
func setCmd(app *App, run func(context.Context, *setOptions) error) *cobra.Command {
	var opts setOptions
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Store a secret (hidden prompt, or all of stdin when piped)",
		Long: `Store a secret under NAME. On a terminal kr asks for the value twice without
echo; otherwise it reads all of stdin, byte for byte (use printf, not echo, to
avoid a trailing newline; a value piped with one, as echo writes it, is stored
as given with a warning, and --trim-newline drops it). The value is never
taken from the command line.
An empty value (an empty stdin, Enter at the prompt) is refused, the old value
kept, unless --allow-empty is given. On a terminal, a NAME that exists is
asked about first ("overwrite? [y/N]"); -f skips the question, and a value
piped in replaces the old one without it.` + generateHelp,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if err := opts.Gen.check(cmd); err != nil {
				return err
			}
			return run(cmd.Context(), &opts)
		},
	}
	cmd.Flags().BoolVar(&opts.AllowEmpty, "allow-empty", false, "store an empty value (refused otherwise)")
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "replace an existing value without asking")
	cmd.Flags().BoolVar(&opts.Trim, "trim-newline", false, "drop one trailing newline from a piped value (what echo adds)")
	opts.Gen.addFlags(cmd)
	return cmd
}

// runSet stores a value under opts.Name: generated, typed twice at the
// terminal (after asking before an overwrite), or all of stdin.
func (a *App) runSet(parent context.Context, opts *setOptions) error {
	name := opts.Name
	if err := backends.ValidateName(name); err != nil {
		return err
	}
	if a.IO.InIsTTY && !opts.Force {
		if err := a.confirmOverwrite(parent, name); err != nil {
			return err
		}
	}
	if opts.Trim && (opts.Gen.on || a.IO.InIsTTY) {
		return usagef("--trim-newline is for a value piped to stdin")
	}
	value, err := a.newValue(name, &opts.Gen, opts.AllowEmpty)
	if err != nil {
		return err
	}
	defer clear(value)
	if !opts.Gen.on && !a.IO.InIsTTY {
		if value, err = a.pipedNewline(name, value, opts.Trim, opts.AllowEmpty); err != nil {
			return err
		}
	}
	ctx, cancel := a.context(parent)
	defer cancel()
	b, err := a.secrets()
	if err != nil {
		return err
	}
	if err := b.Set(ctx, name, value); err != nil {
		return err // the store names the operation and the secret
	}
	a.dropCached(ctx, name)
	if err := a.recordChoice(); err != nil {
		return err
	}
	return opts.Gen.show(a, value)
}

// pipedNewline handles a piped value that is one line ending in a newline,
// which is what `echo VALUE |` sends: stored byte for byte, as kr
// promises, but said aloud, since the newline is rarely part of a password
// and a wrong one fails only later, elsewhere. With trim it is dropped.
// A value of several lines is left alone: its newlines are its own.
func (a *App) pipedNewline(name string, v []byte, trim, allowEmpty bool) ([]byte, error) {
	n := 0
	switch {
	case bytes.HasSuffix(v, []byte("\r\n")):
		n = 2
	case bytes.HasSuffix(v, []byte("\n")):
		n = 1
	}
	if n == 0 || bytes.IndexByte(v[:len(v)-n], '\n') >= 0 {
		return v, nil
	}
	if trim {
		clear(v[len(v)-n:])
		v = v[:len(v)-n]
		if len(v) == 0 && !allowEmpty {
			return nil, withHint(fmt.Errorf("empty value for %s; nothing was stored", name), "to store an empty value, run 'kr set --allow-empty %s'", name)
		}
		return v, nil
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: warning: the value for %s ends with a newline, stored as given\nkr: hint: printf '%%s' VALUE | kr set %s sends none; --trim-newline drops it\n", name, name)
	return v, nil
}

// confirmOverwrite asks on the terminal before a value typed there
// replaces one that exists: a name typed by mistake should not cost a
// secret. Only "y" or "yes" goes on.
func (a *App) confirmOverwrite(parent context.Context, name string) error {
	ctx, cancel := a.context(parent)
	exists, err := a.exists(ctx, name)
	cancel()
	if err != nil || !exists {
		return err
	}
	yes, err := a.askYes(fmt.Sprintf("%s exists; overwrite? [y/N] ", name))
	if err != nil || yes {
		return err
	}
	return withHint(&keptError{name}, "'kr set -f %s' replaces it without asking", name)
}

// askYes asks question on the terminal; only "y" or "yes" is a yes.
func (a *App) askYes(question string) (bool, error) {
	t, err := a.openTerminal()
	if err != nil {
		return false, err
	}
	defer t.Close()
	answer, err := t.ReadLine(question)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// confirmRemove asks on the terminal before rm deletes, as set asks before
// it overwrites: a name typed by mistake should not cost a secret. A name
// that does not exist stops rm before the question, with nothing removed.
func (a *App) confirmRemove(parent context.Context, names []string) error {
	ctx, cancel := a.context(parent)
	defer cancel()
	for _, name := range names {
		exists, err := a.exists(ctx, name)
		if err != nil {
			return err
		}
		if !exists {
			return a.getError(ctx, name, backends.ErrNotFound)
		}
	}
	cancel()
	q := fmt.Sprintf("remove %s? [y/N] ", names[0])
	if len(names) > 1 {
		q = fmt.Sprintf("remove %d secrets (%s)? [y/N] ", len(names), strings.Join(names, ", "))
	}
	yes, err := a.askYes(q)
	if err != nil || yes {
		return err
	}
	return withHint(&removeDeclined{len(names)}, "'kr rm -f NAME...' removes without asking")
}

// removeDeclined is an rm declined at the terminal: a canceled command
// (exit 4).
type removeDeclined struct{ n int }

func (e *removeDeclined) Error() string {
	return fmt.Sprintf("declined: nothing was removed (%s kept)", plural(e.n, "secret"))
}
func (e *removeDeclined) Is(target error) bool { return target == backends.ErrCanceled }

// keptError is an overwrite declined at the terminal: a canceled command
// (exit 4).
type keptError struct{ name string }

func (e *keptError) Error() string        { return e.name + " exists and was kept" }
func (e *keptError) Is(target error) bool { return target == backends.ErrCanceled }

// exists tells whether name is stored, without decrypting where the store
// can tell (the file vault looks for the file); else it reads the value.
func (a *App) exists(ctx context.Context, name string) (bool, error) {
	ns, err := a.namespace()
	if err != nil {
		return false, err
	}
	has, err := ns.Has(ctx, name)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", name, err)
	}
	return has, nil
}

// readValue reads a secret: twice from a hidden prompt on a terminal, else
// all of stdin (at most MaxValueSize bytes). An empty value is refused
// unless allowEmpty: an empty stdin is far more often a broken pipe or a
// missing file than a wish to erase the secret.
func (a *App) readValue(name string, allowEmpty bool) ([]byte, error) {
	var v []byte
	if a.IO.InIsTTY {
		var err error
		// A dialog asks only when stdin is a terminal that is not kr's.
		if v, err = a.askTwice(context.Background(), "", fmt.Sprintf("Value for %s: ", name), "Repeat the value: ", "nothing was stored", nil); err != nil {
			return nil, err
		}
	} else {
		var err error
		v, err = limitio.Read(a.IO.In, "stdin", backends.MaxValueSize)
		if errors.Is(err, limitio.ErrTooLarge) {
			return nil, fmt.Errorf("%w: stdin holds more than %d bytes (1 MiB); nothing was stored", backends.ErrTooBig, backends.MaxValueSize)
		}
		if err != nil {
			return nil, fmt.Errorf("read the value from stdin: %w", err)
		}
	}
	if len(v) == 0 && !allowEmpty {
		return nil, withHint(fmt.Errorf("empty value for %s; nothing was stored", name), "to store an empty value, run 'kr set --allow-empty %s'", name)
	}
	return v, nil
}

func newGetCmd(app *App) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Print a secret's value",
		Long: `Print the value stored under NAME, byte for byte. A newline is added only when
stdout is a terminal. With --json, print {"name": ..., "value": ...}, with
"encoding": "base64" when the value is not UTF-8 text.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			v, err := app.get(ctx, name)
			if err != nil {
				return err
			}
			defer clear(v)
			out := app.stdout()
			if asJSON {
				return writeJSON(out, jsonValue(name, v))
			}
			if _, err := out.Write(v); err != nil {
				return err
			}
			if app.IO.OutIsTTY {
				_, err = fmt.Fprintln(out)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// get reads one secret: from the agent's cache of OS-store values when
// `kr unlock --cache` put it there, else from the backend.
func (a *App) get(ctx context.Context, name string) ([]byte, error) {
	if err := backends.ValidateName(name); err != nil {
		return nil, err
	}
	if v, ok, err := a.cachedValue(ctx, name); ok || err != nil {
		return v, err
	}
	b, err := a.secrets()
	if err != nil {
		return nil, err
	}
	v, err := b.Get(ctx, name)
	if err != nil {
		return nil, a.getError(ctx, name, err)
	}
	a.keepRemote(ctx, name, v)
	return v, nil
}

// getError words a failed read, naming the secret. A name that is not
// found here but is in the other store kr knows gets a hint saying where.
func (a *App) getError(ctx context.Context, name string, err error) error {
	if errors.Is(err, backends.ErrNotFound) {
		err = fmt.Errorf("%w: %s", backends.ErrNotFound, name)
		if hint := a.elsewhere(ctx, name); hint != "" {
			return withHint(err, "%s", hint)
		}
		return withHint(err, "'kr ls' lists the stored names; 'kr set %s' stores one", name)
	}
	return err // the store names the operation and the secret
}

type secretJSON struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Encoding string `json:"encoding,omitempty"`
}

func jsonValue(name string, v []byte) secretJSON {
	if utf8.Valid(v) {
		return secretJSON{Name: name, Value: string(v)}
	}
	return secretJSON{Name: name, Value: base64.StdEncoding.EncodeToString(v), Encoding: "base64"}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rmOptions is what kr rm was asked to do.
type rmOptions struct {
	Names []string
	Force bool // -f: no question at a terminal
}

func newRmCmd(app *App) *cobra.Command { return rmCmd(app, app.runRm) }

// rmCmd parses kr rm's command line into rmOptions for run.
func rmCmd(app *App, run func(context.Context, *rmOptions) error) *cobra.Command {
	var opts rmOptions
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Remove secrets",
		Long: `Remove each NAME. On a terminal kr asks first ("remove NAME? [y/N]"), as set
does before it overwrites; -f skips the question. Without a terminal (a script,
a pipe) nothing is asked. A NAME that does not exist stops rm before anything
is removed.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: app.completeNames(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			return run(cmd.Context(), &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "remove without asking")
	return cmd
}

// runRm removes opts.Names in order, stopping at the first that fails.
// Every name is checked before any is removed: a typo in the last one
// costs nothing.
func (a *App) runRm(parent context.Context, opts *rmOptions) error {
	for _, name := range opts.Names {
		if err := backends.ValidateName(name); err != nil {
			return err
		}
	}
	if a.IO.InIsTTY && !opts.Force {
		if err := a.confirmRemove(parent, opts.Names); err != nil {
			return err
		}
	}
	ctx, cancel := a.context(parent)
	defer cancel()
	b, err := a.secrets()
	if err != nil {
		return err
	}
	for _, name := range opts.Names {
		a.dropCached(ctx, name)
		if err := b.Delete(ctx, name); err != nil {
			return a.getError(ctx, name, err)
		}
	}
	return nil
}

func newLsCmd(app *App) *cobra.Command {
	var asJSON, long bool
	cmd := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "List secret names (never values)",
		Long: `List the names of the secrets that start with PREFIX, sorted, without reading
any value; --json prints them as a JSON array.

With -l (--long), each line also shows when the value was last written and
which tool wrote it, as far as the store records that without unlocking:
  2026-11-23 15:04  kr           db/prod
  2026-10-02 09:12  secret-tool  api/token
The Secret Service's item times and attributes, Credential Manager's
LastWritten, the Keychain's modification date, the file vault's file times.
"-" where the store does not say. With --json, -l prints objects with "name",
"modified" (RFC 3339) and "writer".`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			if long {
				return app.listLong(ctx, b, prefix, asJSON)
			}
			names, err := b.List(ctx, prefix)
			if err != nil {
				return err
			}
			out := app.stdout()
			if asJSON {
				if names == nil {
					names = []string{}
				}
				return writeJSON(out, names)
			}
			// One write for the whole list, not one per name.
			w := bufio.NewWriterSize(out, 64<<10)
			for _, n := range names {
				w.WriteString(n)
				w.WriteByte('\n')
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	cmd.Flags().BoolVarP(&long, "long", "l", false, "with the time each was written and the tool that wrote it, where the store says")
	return cmd
}
