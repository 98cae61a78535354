// Command kr puts the operating system's credential store behind one small
// CLI. See internal/cli for the commands.
package main

import (
	"os"

	"github.com/kr-keyring/kr/internal/cli"
)

func main() { os.Exit(cli.Main()) }
