package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kr-keyring/kr/internal/cli"
	"github.com/kr-keyring/kr/internal/testenv"
)

// render is page name as man -l shows it to a reader.
func render(t *testing.T, man, dir, name string) string {
	t.Helper()
	cmd := exec.Command(man, "-l", filepath.Join(dir, name+".1"))
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s: %v", name, err)
	}
	return string(out)
}

// TestManPagesKeepEveryWord renders every page with man -l and looks in it
// for each flag of its command, each KR_ variable its help names, and the
// words a Markdown pass used to eat: <concealed by kr>, underscores,
// quotes, the spacing of indented tables.
func TestManPagesKeepEveryWord(t *testing.T) {
	if runtime.GOOS != "linux" {
		// man -l is man-db's; the packages that carry the pages are
		// built and checked on Linux.
		t.Skip("pages are rendered with man-db, on Linux")
	}
	man := testenv.Tool(t, "man", "man-db")
	dir := t.TempDir()
	if err := genManPages(dir); err != nil {
		t.Fatal(err)
	}
	variable := regexp.MustCompile(`KR_[A-Z0-9_*]*[A-Z0-9*]`)
	root := cli.NewRootCmd(cli.NewApp())
	pages := 0
	err := walk(root, func(c *cobra.Command) error {
		pages++
		name := pageName(c)
		// Filled text wraps anywhere between words: compare with runs
		// of space as one space.
		got := strings.Join(strings.Fields(render(t, man, dir, name)), " ")
		var want []string
		visit := func(f *pflag.Flag) {
			if !f.Hidden {
				want = append(want, "--"+f.Name)
			}
		}
		c.NonInheritedFlags().VisitAll(visit)
		c.InheritedFlags().VisitAll(visit)
		help := c.Long
		c.Flags().VisitAll(func(f *pflag.Flag) { help += " " + f.Usage })
		want = append(want, variable.FindAllString(help, -1)...)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s(1) lacks %q", name, w)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages < 30 {
		t.Fatalf("only %d pages", pages)
	}
	execPage := render(t, man, dir, "kr-exec")
	flat := strings.Join(strings.Fields(execPage), " ")
	for _, w := range []string{`"<concealed by kr>"`, "KR_PASSPHRASE and the other KR_*_FILE"} {
		if !strings.Contains(flat, w) {
			t.Errorf("kr-exec(1) lacks %q:\n%s", w, execPage)
		}
	}
	if ls := render(t, man, dir, "kr-ls"); !strings.Contains(ls, "2026-11-23 15:04  kr           db/prod") {
		t.Errorf("kr-ls(1) lost the spacing of its table:\n%s", ls)
	}
}

// TestCaskListsEveryPage: a Homebrew cask's manpage stanza takes no
// pattern, so .goreleaser.yaml names each page; a command added without
// its page there would be missing from the cask alone.
func TestCaskListsEveryPage(t *testing.T) {
	cfg, err := os.ReadFile(filepath.Join("..", "..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(cfg), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), "- man/"); ok && !strings.Contains(p, "*") {
			listed[p] = true
		}
	}
	dir := t.TempDir()
	if err := genManPages(dir); err != nil {
		t.Fatal(err)
	}
	pages, _ := os.ReadDir(dir)
	for _, p := range pages {
		if !listed[p.Name()] {
			t.Errorf(".goreleaser.yaml's cask lacks man/%s", p.Name())
		}
		delete(listed, p.Name())
	}
	for p := range listed {
		t.Errorf(".goreleaser.yaml's cask lists man/%s, which genman does not write", p)
	}
}
