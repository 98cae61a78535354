package cli

import (
	"slices"
	"testing"
)

// TestTopCommandsAreTheTree: the names a run looks a command up by are
// the names and aliases the built command answers to, so building only
// the invoked command never builds another or misses one.
func TestTopCommandsAreTheTree(t *testing.T) {
	app := NewApp()
	for _, c := range topCommands {
		cmd := c.add(app)
		if want := append([]string{cmd.Name()}, cmd.Aliases...); !slices.Equal(c.names, want) {
			t.Errorf("topCommands has %q for the command answering to %q", c.names, want)
		}
	}
}

// TestInvoked: only a plainly named command is built alone.
func TestInvoked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" for the whole tree
	}{
		{[]string{"get", "x"}, "get"},
		{[]string{"--backend", "file", "get", "x"}, "get"},
		{[]string{"--backend=file", "--timeout", "1s", "list"}, "ls"},
		{[]string{"--vault", "get", "set", "x"}, "set"},
		{[]string{"help", "get"}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"__complete", "get", ""}, ""},
		{[]string{"--help"}, ""},
		{[]string{}, ""},
		{[]string{"gte"}, ""},
		{[]string{"--", "get"}, ""},
	} {
		got := ""
		if add := invoked(tc.args); add != nil {
			got = add(NewApp()).Name()
		}
		if got != tc.want {
			t.Errorf("invoked(%q) builds %q, want %q", tc.args, got, tc.want)
		}
	}
}
