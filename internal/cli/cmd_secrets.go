package cli

import (
	"bufio"
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

func newSetCmd(app *App) *cobra.Command {
	var allowEmpty, force bool
	var gen generateFlags
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Store a secret (hidden prompt, or all of stdin when piped)",
		Long: `Store a secret under NAME. On a terminal kr asks for the value twice without
echo; otherwise it reads all of stdin, byte for byte (use printf, not echo, to
avoid a trailing newline). The value is never taken from the command line.
An empty value (an empty stdin, Enter at the prompt) is refused, the old value
kept, unless --allow-empty is given. On a terminal, a NAME that exists is
asked about first ("overwrite? [y/N]"); -f skips the question, and a value
piped in replaces the old one without it.` + generateHelp,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := backends.ValidateName(name); err != nil {
				return err
			}
			if app.IO.InIsTTY && !force {
				if err := app.confirmOverwrite(cmd.Context(), name); err != nil {
					return err
				}
			}
			value, err := app.newValue(cmd, name, &gen, allowEmpty)
			if err != nil {
				return err
			}
			defer clear(value)
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			if err := b.Set(ctx, name, value); err != nil {
				return err // the store names the operation and the secret
			}
			app.dropCached(ctx, name)
			if err := app.recordChoice(); err != nil {
				return err
			}
			return gen.show(app, value)
		},
	}
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "store an empty value (refused otherwise)")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "replace an existing value without asking")
	gen.addFlags(cmd)
	return cmd
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
	t, err := a.openTerminal()
	if err != nil {
		return err
	}
	defer t.Close()
	answer, err := t.ReadLine(fmt.Sprintf("%s exists; overwrite? [y/N] ", name))
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return withHint(&keptError{name}, "'kr set -f %s' replaces it without asking", name)
}

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
	if v, ok := a.cachedValue(ctx, name); ok {
		return v, nil
	}
	b, err := a.secrets()
	if err != nil {
		return nil, err
	}
	v, err := b.Get(ctx, name)
	if err != nil {
		return nil, a.getError(ctx, name, err)
	}
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

func newRmCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:               "rm NAME...",
		Aliases:           []string{"remove", "delete"},
		Short:             "Remove secrets",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: app.completeNames(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, name := range args {
				if err := backends.ValidateName(name); err != nil {
					return err
				}
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			for _, name := range args {
				app.dropCached(ctx, name)
				if err := b.Delete(ctx, name); err != nil {
					return app.getError(ctx, name, err)
				}
			}
			return nil
		},
	}
}

func newLsCmd(app *App) *cobra.Command {
	var asJSON, long bool
	cmd := &cobra.Command{
		Use:     "ls [PREFIX]",
		Aliases: []string{"list"},
		Short:   "List secret names (never values)",
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
