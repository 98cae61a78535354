package cli

import (
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasAnExample: each command's help shows how to use it, and
// no example is written for a command that does not exist.
func TestEveryCommandHasAnExample(t *testing.T) {
	root := NewRootCmd(NewApp())
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		seen[c.CommandPath()] = true
		if c != root && !c.Hidden && c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for path := range examples {
		if !seen[path] {
			t.Errorf("example for %q, which is not a command", path)
		}
	}
}
