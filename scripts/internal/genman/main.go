// Command genman writes kr's man pages, one per command, generated from
// the command tree, into the directory given; GoReleaser ships them in the
// release archives. It lives apart from kr so that kr itself does not link
// the man page renderer.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra/doc"

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
	root.DisableAutoGenTag = true // the same tree gives the same pages
	return doc.GenManTree(root, &doc.GenManHeader{Title: "KR", Section: "1", Manual: "kr manual"}, dir)
}
