package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/awscred"
)

func newSetupAWSCmd(app *App) *cobra.Command {
	var apply, replace bool
	var profile string
	cmd := &cobra.Command{
		Use:   "aws PREFIX",
		Short: "Make kr the credential_process of an AWS profile",
		Long: `Print the profile that makes the AWS CLI and SDKs read their keys from kr:
"credential_process = kr aws-credentials PREFIX" in $AWS_CONFIG_FILE (default
~/.aws/config). With --apply, write it; running it again changes nothing.
A different credential_process already in the profile is named and left
alone unless --replace is given. Static keys for the profile in the shared
credentials file, which the AWS tools use first, are named.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			keyID, _, _, _ := awscred.Names(args[0])
			if err := backends.ValidateName(keyID); err != nil {
				return usagef("PREFIX %q: %v", args[0], err)
			}
			if profile == "" || strings.ContainsAny(profile, "[]\n\r") || strings.TrimSpace(profile) != profile {
				return usagef("invalid profile name %q", profile)
			}
			return app.setupAWS(strings.TrimSuffix(args[0], "/"), profile, apply || replace, replace)
		},
	}
	cmd.Flags().StringVar(&profile, "profile", "default", "the profile to configure")
	cmd.Flags().BoolVar(&apply, "apply", false, "write the configuration")
	cmd.Flags().BoolVar(&replace, "replace", false, "with --apply: replace another credential_process")
	return cmd
}

func (a *App) awsFile(env, name string) (string, error) {
	if p := a.Getenv(env); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", withHint(fmt.Errorf("find the home directory: %w", err), "set %s", env)
	}
	return filepath.Join(home, ".aws", name), nil
}

func (a *App) setupAWS(prefix, profile string, apply, replace bool) error {
	path, err := a.awsFile("AWS_CONFIG_FILE", "config")
	if err != nil {
		return err
	}
	data, err := readConfigFile(path)
	if err != nil {
		return err
	}
	command := krCommand()
	if strings.ContainsAny(command, " \t") {
		command = strconv.Quote(command)
	}
	value := command + " aws-credentials " + prefix
	header := "[profile " + profile + "]"
	if profile == "default" {
		header = "[default]"
	}
	newData, old := setINIKey(data, awsSection(profile), header, "credential_process", value)
	if creds, err := a.awsFile("AWS_SHARED_CREDENTIALS_FILE", "credentials"); err == nil {
		if cd, _ := readConfigFile(creds); iniHasKey(cd, func(s string) bool { return s == profile }, "aws_access_key_id") {
			fmt.Fprintf(a.IO.ErrOut, "kr: note: %s has static keys for profile %s, which the AWS tools use before credential_process: remove them\n", creds, profile)
		}
	}
	if !apply {
		fmt.Fprintf(a.IO.Out, "# kr as the credential_process of profile %s, in %s:\n%s\ncredential_process = %s\n", profile, path, header, value)
		if old == value {
			fmt.Fprintln(a.IO.Out, "# already configured")
		} else if old != "" {
			fmt.Fprintf(a.IO.Out, "# the profile's credential_process is now %q (kr setup aws --replace replaces it)\n", old)
		}
		return nil
	}
	switch {
	case old == value:
		fmt.Fprintf(a.IO.ErrOut, "kr: profile %s already runs %s\n", profile, value)
		return nil
	case old != "" && !replace:
		return withHint(fmt.Errorf("profile %s in %s already has credential_process = %s; nothing was changed", profile, path, old),
			"'kr setup aws --replace --profile %s %s' replaces it", profile, prefix)
	case old != "":
		fmt.Fprintf(a.IO.ErrOut, "kr: replacing credential_process = %s\n", old)
	}
	if err := writeConfigFile(path, newData); err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: set credential_process = %s for profile %s in %s\n", value, profile, path)
	return nil
}

// awsSection matches the config file's section of profile: "[profile
// NAME]", or for default also "[default]".
func awsSection(profile string) func(string) bool {
	return func(s string) bool {
		f := strings.Fields(s)
		if profile == "default" && s == "default" {
			return true
		}
		return len(f) == 2 && f[0] == "profile" && f[1] == profile
	}
}

// iniSection returns the name inside a "[...]" line.
func iniSection(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") || !strings.HasSuffix(t, "]") {
		return "", false
	}
	return strings.TrimSpace(t[1 : len(t)-1]), true
}

// iniKey splits a "key = value" line (not a comment).
func iniKey(line string) (key, value string, ok bool) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == ';' || line[0] == ' ' || line[0] == '\t' {
		return "", "", false
	}
	k, v, ok := strings.Cut(t, "=")
	return strings.TrimSpace(k), strings.TrimSpace(v), ok
}

func iniHasKey(data []byte, section func(string) bool, key string) bool {
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if s, ok := iniSection(line); ok {
			in = section(s)
			continue
		}
		if k, _, ok := iniKey(line); in && ok && k == key {
			return true
		}
	}
	return false
}

// setINIKey returns data with key = value in the first section matching
// section (appended, under header, when there is none), and the value key
// had there. Every other line is kept as it was.
func setINIKey(data []byte, section func(string) bool, header, key, value string) (out []byte, old string) {
	text := string(data)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		lines = nil
	}
	start, end := -1, len(lines)
	for i, line := range lines {
		if s, ok := iniSection(line); ok {
			if start >= 0 {
				end = i
				break
			}
			if section(s) {
				start = i
			}
		}
	}
	entry := key + " = " + value
	if start < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			lines = append(lines, "")
		}
		lines = append(lines, header, entry)
		return []byte(strings.Join(lines, "\n") + "\n"), ""
	}
	for i := start + 1; i < end; i++ {
		if k, v, ok := iniKey(lines[i]); ok && k == key {
			lines[i] = entry
			return []byte(strings.Join(lines, "\n") + "\n"), v
		}
	}
	// After the section's last non-blank line.
	at := end
	for at > start+1 && strings.TrimSpace(lines[at-1]) == "" {
		at--
	}
	lines = append(lines[:at], append([]string{entry}, lines[at:]...)...)
	return []byte(strings.Join(lines, "\n") + "\n"), ""
}
