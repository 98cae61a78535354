package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/awsconfig"
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
	conf, err := awsconfig.Parse(data, awsconfig.Config)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "fix the file (the AWS tools read it too), then run this again")
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
	old, _ := conf.Get(profile, "credential_process")
	a.awsCredentialsNote(profile)
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
	newData, err := conf.Set(profile, "credential_process", value)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "add the line to the profile yourself")
	}
	if err := writeConfigFile(path, newData); err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: set credential_process = %s for profile %s in %s\n", value, profile, path)
	return nil
}

// awsCredentialsNote names static keys for profile in the shared
// credentials file, which the AWS tools use before credential_process.
func (a *App) awsCredentialsNote(profile string) {
	creds, err := a.awsFile("AWS_SHARED_CREDENTIALS_FILE", "credentials")
	if err != nil {
		return
	}
	data, err := readConfigFile(creds)
	if err != nil || data == nil {
		return
	}
	f, err := awsconfig.Parse(data, awsconfig.Credentials)
	if err != nil {
		fmt.Fprintf(a.IO.ErrOut, "kr: note: the AWS tools cannot read %s: %v\n", creds, err)
		return
	}
	if _, ok := f.Get(profile, "aws_access_key_id"); ok {
		fmt.Fprintf(a.IO.ErrOut, "kr: note: %s has static keys for profile %s, which the AWS tools use before credential_process: remove them\n", creds, profile)
	}
}
