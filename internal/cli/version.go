package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set at release build time: -ldflags "-X ...cli.Version=v1.2.3
// -X ...cli.Commit=abc123 -X ...cli.Date=2026-11-23T10:00:00Z".
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// versionString says which kr this is: the release's ldflags, else what
// the Go toolchain recorded in the binary (the module version for `go
// install ...@v1.2.3`, the commit for a build from a checkout).
func versionString() string {
	version, commit, date, dirty := Version, Commit, Date, false
	if info, ok := debug.ReadBuildInfo(); ok {
		if version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if commit == "" {
					commit = s.Value
				}
			case "vcs.time":
				if date == "" {
					date = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true" && Commit == ""
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	var extra []string
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit != "" && !strings.Contains(version, commit) { // a pseudo-version names it already

		if dirty {
			commit += "+changes"
		}
		extra = append(extra, "commit "+commit)
	}
	if date != "" {
		extra = append(extra, "built "+date)
	}
	if len(extra) == 0 {
		return version
	}
	return version + " (" + strings.Join(extra, ", ") + ")"
}

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print kr's version and commit",
		Example: "  kr version\n  kr --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(app.IO.Out, "kr %s\n", versionString())
			return err
		},
	}
}
