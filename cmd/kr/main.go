// Command kr puts the operating system's credential store behind one small
// CLI. See internal/cli for the commands.
package main

import (
	"github.com/kr-keyring/kr/agent/lockwatch"
	"github.com/kr-keyring/kr/internal/cli"
)

// lockwatch.Main runs the command; on macOS it keeps the main thread, where
// the screen-lock announcement arrives, for the agent's lock watcher.
func main() { lockwatch.Main(cli.Main) }
