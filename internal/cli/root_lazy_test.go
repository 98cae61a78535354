package cli

import (
	"testing"

	"github.com/spf13/pflag"
)

// TestTopCommandsAreTheTree: a command's name is the one topCommands looks
// it up by, and its aliases are given there alone, so building only the
// invoked command never builds another or misses one.
func TestTopCommandsAreTheTree(t *testing.T) {
	app := NewApp()
	for _, c := range topCommands {
		cmd := c.add(app)
		if cmd.Name() != c.name {
			t.Errorf("topCommands has %q for the command named %q", c.name, cmd.Name())
		}
		if len(cmd.Aliases) > 0 {
			t.Errorf("%s sets its aliases %q itself; give them in topCommands", c.name, cmd.Aliases)
		}
	}
	root := NewRootCmd(app)
	for _, c := range topCommands {
		for _, name := range append([]string{c.name}, c.aliases...) {
			if found, _, err := root.Find([]string{name}); err != nil || found.Name() != c.name {
				t.Errorf("kr %s finds %v, %v; want %s", name, found.Name(), err, c.name)
			}
		}
	}
}

// invokedName is the name of the command invoked builds alone, or "".
func invokedName(flags *pflag.FlagSet, args []string) string {
	if n := invoked(flags, args); n >= 0 {
		return topCommands[n].name
	}
	return ""
}

// TestInvoked: only a plainly named command is built alone.
func TestInvoked(t *testing.T) {
	flags := newRootCmd(NewApp(), nil).PersistentFlags()
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
		if got := invokedName(flags, tc.args); got != tc.want {
			t.Errorf("invoked(%q) builds %q, want %q", tc.args, got, tc.want)
		}
	}
}

// TestInvokedFollowsTheFlagSet: every global flag, and one added later,
// is known to take a value or not from the flag set itself: the value of
// `kr --newflag set get` is never taken for the set command.
func TestInvokedFollowsTheFlagSet(t *testing.T) {
	root := newRootCmd(NewApp(), nil)
	flags := root.PersistentFlags()
	flags.String("newflag", "", "a value flag added later")
	flags.StringP("other", "o", "", "a value flag with a shorthand")
	flags.Bool("switch", false, "a boolean flag added later")
	flags.VisitAll(func(f *pflag.Flag) {
		args := []string{"--" + f.Name, "get", "x"}
		want := "get"
		if f.NoOptDefVal == "" {
			args = []string{"--" + f.Name, "set", "get", "x"}
		}
		if got := invokedName(flags, args); got != want {
			t.Errorf("invoked(%q) builds %q, want %q", args, got, want)
		}
	})
	for _, args := range [][]string{{"-o", "set", "get"}, {"--newflag=set", "get"}} {
		if got := invokedName(flags, args); got != "get" {
			t.Errorf("invoked(%q) builds %q, want get", args, got)
		}
	}
}
