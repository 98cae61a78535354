// Command genman writes kr's man pages, one per command, generated from
// the command tree, into the directory given; GoReleaser ships them in the
// release archives and the packages. It lives apart from kr so that kr
// itself does not carry the page writer.
//
// The pages are written as roff directly, not through Markdown: kr's help
// is plain text, and a Markdown pass reads <concealed by kr> as an HTML
// tag and the underscores of KR_PASSPHRASE as emphasis, and drops both.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kr-keyring/kr/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genman DIR")
		os.Exit(2)
	}
	if err := genManPages(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

// genManPages writes a page for every command into dir (section 1).
func genManPages(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cli.NewRootCmd(cli.NewApp())
	return walk(root, func(c *cobra.Command) error {
		name := pageName(c)
		return os.WriteFile(filepath.Join(dir, name+".1"), []byte(page(c)), 0o644)
	})
}

// walk visits c and every command below it that a user can run or read
// about (not help, not hidden ones).
func walk(c *cobra.Command, f func(*cobra.Command) error) error {
	if !c.IsAvailableCommand() && c.HasParent() {
		return nil
	}
	if err := f(c); err != nil {
		return err
	}
	for _, sub := range c.Commands() {
		if err := walk(sub, f); err != nil {
			return err
		}
	}
	return nil
}

// pageName is "kr-agent-status" for `kr agent status`.
func pageName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// page is c's man page in roff. Hyphenation and justification are off, so
// that a flag or a variable is never split across lines where a reader (or
// a search in the pager) would miss it.
func page(c *cobra.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"kr\" \"kr manual\"\n.nh\n.ad l\n", quoteArg(strings.ToUpper(pageName(c))))
	b.WriteString(".SH NAME\n")
	b.WriteString(escape(pageName(c)+" - "+c.Short) + "\n")
	b.WriteString(".SH SYNOPSIS\n")
	b.WriteString(`\fB` + escape(c.UseLine()) + `\fR` + "\n")
	if len(c.Aliases) > 0 {
		b.WriteString(".PP\nAlso: " + escape(strings.Join(c.Aliases, ", ")) + "\n")
	}
	b.WriteString(".SH DESCRIPTION\n")
	long := c.Long
	if long == "" {
		long = c.Short
	}
	b.WriteString(text(long))
	if fs := c.NonInheritedFlags(); fs.HasAvailableFlags() {
		b.WriteString(".SH OPTIONS\n")
		b.WriteString(flags(fs))
	}
	if fs := c.InheritedFlags(); fs.HasAvailableFlags() {
		b.WriteString(".SH OPTIONS INHERITED FROM PARENT COMMANDS\n")
		b.WriteString(flags(fs))
	}
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.PP\n.nf\n.RS\n")
		for _, line := range strings.Split(strings.TrimRight(c.Example, "\n"), "\n") {
			b.WriteString(escape(line) + "\n")
		}
		b.WriteString(".RE\n.fi\n")
	}
	var see []string
	if c.HasParent() {
		see = append(see, pageName(c.Parent())+"(1)")
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			see = append(see, pageName(sub)+"(1)")
		}
	}
	if len(see) > 0 {
		b.WriteString(".SH SEE ALSO\n" + `\fB` + escape(strings.Join(see, ", ")) + `\fR` + "\n")
	}
	return b.String()
}

// text turns help text into roff: paragraphs of filled lines, and lines
// indented in the help (tables, examples) kept exactly as they are.
func text(s string) string {
	var b strings.Builder
	pre := false
	para := false
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case strings.TrimSpace(line) == "":
			if pre {
				b.WriteString(".fi\n.RE\n")
				pre = false
			}
			para = false
			continue
		case indented && !pre:
			b.WriteString(".PP\n.RS\n.nf\n")
			pre, para = true, false
		case !indented && pre:
			b.WriteString(".fi\n.RE\n")
			pre = false
		}
		if !pre && !para {
			b.WriteString(".PP\n")
			para = true
		}
		if pre {
			line = strings.TrimPrefix(line, "  ")
		}
		b.WriteString(escape(line) + "\n")
	}
	if pre {
		b.WriteString(".fi\n.RE\n")
	}
	return b.String()
}

// flags lists fs as tagged paragraphs: the flag, its value's name, then
// what it does, with its default where it has one worth saying.
func flags(fs *pflag.FlagSet) string {
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		head := ""
		if f.Shorthand != "" && f.ShorthandDeprecated == "" {
			head = `\fB\-` + escape(f.Shorthand) + `\fR, `
		}
		head += `\fB` + escape("--"+f.Name) + `\fR`
		if varname != "" && f.NoOptDefVal == "" {
			head += ` \fI` + escape(varname) + `\fR`
		}
		b.WriteString(".TP\n" + head + "\n" + escape(usage))
		if d := f.DefValue; d != "" && d != "false" && d != "[]" && d != "0" && d != "0s" {
			b.WriteString(escape(fmt.Sprintf(" (default %s)", d)))
		}
		b.WriteString("\n")
	})
	return b.String()
}

// escape makes s roff text that prints as s: backslashes and hyphens
// escaped (a bare - may print as a typographic hyphen, which a copied
// --flag then lacks), and a leading . or ' kept from being read as a
// request.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quoteArg is a macro argument in double quotes.
func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(escape(s), `"`, `\(dq`) + `"`
}
