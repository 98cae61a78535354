// Command gencompletion writes kr's shell completion scripts into the
// directory given, for the packages to install where each shell looks:
// kr.bash, _kr (zsh), kr.fish and kr.ps1. They are the scripts
// `kr completion SHELL` prints; the bash one needs the bash-completion
// package, whose helpers cobra's script calls.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/kr-keyring/kr/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gencompletion DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gencompletion:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cli.NewRootCmd(cli.NewApp())
	for _, s := range []struct {
		file string
		gen  func(string) error
	}{
		{"kr.bash", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
		{"_kr", root.GenZshCompletionFile},
		{"kr.fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
		{"kr.ps1", root.GenPowerShellCompletionFileWithDesc},
	} {
		if err := s.gen(filepath.Join(dir, s.file)); err != nil {
			return fmt.Errorf("%s: %w", s.file, err)
		}
	}
	return nil
}
