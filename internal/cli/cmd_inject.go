package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/limitio"
)

// injectOptions is what kr inject was asked to do.
type injectOptions struct {
	In  string // the template's path; "-" is stdin
	Out string // the file to write; "" is stdout
	TTY bool   // --tty: stdout may be a terminal
}

func newInjectCmd(app *App) *cobra.Command {
	var opts injectOptions
	cmd := &cobra.Command{
		Use:   "inject -i TEMPLATE [-o FILE]",
		Short: "Render a file with {{ kr://NAME }} replaced by secrets",
		Long: `Read TEMPLATE ("-" is stdin) and replace each {{ kr://NAME }} (blanks inside
the braces optional) with NAME's value, byte for byte; nothing else in it
means anything to kr, so other {{ ... }} pass through, and a value is never
read again for references. Every reference is resolved before anything is
written: one that cannot be, or a {{ kr:// that is not a whole reference,
stops kr with each named and nothing written.

With -o FILE the result replaces FILE atomically, mode 0600. Otherwise it goes
to stdout, which kr refuses when that is a terminal unless --tty is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.In == "" {
				return usagef("kr inject needs -i TEMPLATE (\"-\" reads stdin)")
			}
			return app.runInject(cmd.Context(), &opts)
		},
	}
	cmd.Flags().StringVarP(&opts.In, "in-file", "i", "", "the template (\"-\" for stdin)")
	cmd.Flags().StringVarP(&opts.Out, "out-file", "o", "", "write here (mode 0600, replaced atomically) instead of stdout")
	cmd.Flags().BoolVar(&opts.TTY, "tty", false, "print on stdout even when it is a terminal")
	return cmd
}

func (a *App) runInject(parent context.Context, opts *injectOptions) error {
	if opts.Out == "" && a.IO.OutIsTTY && !opts.TTY {
		return withHint(usagef("stdout is a terminal; kr does not print secrets on it without --tty"),
			"write a file with -o FILE, or add --tty")
	}
	var text []byte
	var err error
	if opts.In == "-" {
		text, err = limitio.Read(a.IO.In, "stdin", envref.MaxTemplateSize)
	} else {
		text, err = limitio.ReadFile(opts.In, envref.MaxTemplateSize)
	}
	if err != nil {
		return fmt.Errorf("read the template: %w", err)
	}
	tpl, err := envref.ParseTemplate(text)
	if err != nil {
		return fmt.Errorf("%s: %w", templateName(opts.In), err)
	}
	ctx, cancel := a.context(parent)
	defer cancel()
	values := map[string][]byte{}
	defer func() {
		for _, v := range values {
			clear(v)
		}
	}()
	var failed []string
	var first error
	for _, r := range tpl.Refs() {
		if _, done := values[r.Name]; done {
			continue
		}
		v, err := a.get(ctx, r.Name)
		if err != nil {
			values[r.Name] = nil
			if first == nil {
				first = err
			}
			failed = append(failed, fmt.Sprintf("kr://%s (line %d): %s", r.Name, r.Line, refFailure(err)))
			continue
		}
		values[r.Name] = v
	}
	if first != nil {
		return &injectError{failed: failed, first: first, what: templateName(opts.In)}
	}
	out := tpl.Render(values)
	defer clear(out)
	if opts.Out != "" {
		return writeSecretFile(opts.Out, out)
	}
	_, err = a.stdout().Write(out)
	return err
}

// writeSecretFile replaces path with data, mode 0600, atomically: a reader
// sees the old file or the whole new one.
func writeSecretFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: the directory %s does not exist", path, filepath.Dir(path))
		}
		return err
	}
	return nil
}

// templateName is how messages call the template.
func templateName(in string) string {
	if in == "-" {
		return "the template on stdin"
	}
	return in
}

// refFailure says why one reference failed, without its name again.
func refFailure(err error) string {
	if errors.Is(err, backends.ErrNotFound) {
		return "not found"
	}
	return err.Error()
}

// injectError names every reference of a template that could not be
// resolved. It is classed (exit code) as the first failure.
type injectError struct {
	failed []string
	first  error
	what   string
}

func (e *injectError) Error() string {
	if len(e.failed) == 1 {
		return fmt.Sprintf("%s: cannot resolve %s; nothing was written", e.what, e.failed[0])
	}
	return fmt.Sprintf("%s: cannot resolve %d references: %s; nothing was written", e.what, len(e.failed), strings.Join(e.failed, "; "))
}
func (e *injectError) Unwrap() error { return e.first }
func (e *injectError) Hint() string {
	if errors.Is(e.first, backends.ErrNotFound) {
		return "'kr ls' lists the stored names"
	}
	return ""
}

// readOptions is what kr read was asked to do.
type readOptions struct {
	Ref       string
	NoNewline bool
	Out       string
}

func newReadCmd(app *App) *cobra.Command {
	var opts readOptions
	cmd := &cobra.Command{
		Use:   "read kr://NAME",
		Short: "Print one secret by reference, as 'op read' does",
		Long: `Print the value of the secret a reference names (kr://NAME, or NAME), followed
by a newline unless -n is given, for scripts written for 'op read'. With
-o FILE the value is written to FILE (mode 0600, replaced atomically), as is.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: app.completeNames(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			return app.runRead(cmd.Context(), &opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.NoNewline, "no-newline", "n", false, "print no newline after the value")
	cmd.Flags().StringVarP(&opts.Out, "out-file", "o", "", "write the value to this file (mode 0600) instead of stdout")
	return cmd
}

func (a *App) runRead(parent context.Context, opts *readOptions) error {
	name := strings.TrimPrefix(opts.Ref, envref.RefPrefix)
	if err := backends.ValidateName(name); err != nil {
		return usagef("%v", err)
	}
	ctx, cancel := a.context(parent)
	defer cancel()
	v, err := a.get(ctx, name)
	if err != nil {
		return err
	}
	defer clear(v)
	if opts.Out != "" {
		return writeSecretFile(opts.Out, v)
	}
	w := a.stdout()
	if _, err := w.Write(v); err != nil {
		return err
	}
	if !opts.NoNewline {
		_, err = io.WriteString(w, "\n")
	}
	return err
}
