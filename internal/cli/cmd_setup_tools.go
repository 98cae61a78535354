package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/awscred"
	"github.com/kr-keyring/kr/internal/limitio"
)

// addToolSetupCmds adds `kr setup docker|aws|kube` to setup.
func addToolSetupCmds(setup *cobra.Command, app *App) {
	setup.AddCommand(newSetupDockerCmd(app), newSetupAWSCmd(app), newSetupKubeCmd(app))
}

// maxConfigFile bounds the client configuration files setup reads.
const maxConfigFile = 4 << 20

// readConfigFile reads a client's configuration file; a missing one is
// empty.
func readConfigFile(path string) ([]byte, error) {
	data, err := limitio.ReadFile(path, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// writeConfigFile replaces path atomically, making its directory (0700)
// when it is not there. The file keeps its mode when it exists.
func writeConfigFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make %s: %w", filepath.Dir(path), err)
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Chmod(path, mode)
}

// krCommand is how a client's configuration names kr: "kr" when that is
// what PATH finds, else kr's absolute path.
func krCommand() string {
	self, err := os.Executable()
	if err != nil {
		return "kr"
	}
	if p, err := exec.LookPath("kr"); err == nil && sameFile(p, self) {
		return "kr"
	}
	return self
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// onPathAs reports whether an executable file name is in a directory of
// path (kr's environment's PATH, which is the client's).
func onPathAs(path, name string) bool {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err == nil && fi.Mode().IsRegular() && (runtime.GOOS == "windows" || fi.Mode().Perm()&0o111 != 0) {
			return true
		}
	}
	return false
}

// ensureHelperLink makes name (docker-credential-kr) run kr when PATH does
// not find it yet: a link next to kr's executable.
func (a *App) ensureHelperLink(name string, apply bool) error {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if onPathAs(a.Getenv("PATH"), name) {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find kr's own executable: %w", err)
	}
	link := filepath.Join(filepath.Dir(self), name)
	if !apply {
		fmt.Fprintf(a.IO.Out, "# %s is not on PATH; link it next to kr:\nln -s %q %q\n", name, self, link)
		return nil
	}
	if _, err := os.Lstat(link); err != nil {
		if err := linkHelper(self, link); err != nil {
			return withHint(fmt.Errorf("make %s: %w", link, err), "link or copy kr as %s into a directory on PATH", name)
		}
		fmt.Fprintf(a.IO.ErrOut, "kr: made %s\n", link)
	}
	if dir := filepath.Dir(link); !onPathDir(a.Getenv("PATH"), dir) {
		fmt.Fprintf(a.IO.ErrOut, "kr: hint: %s is not on PATH: add it, or the client will not find %s\n", dir, name)
	}
	return nil
}

func newSetupDockerCmd(app *App) *cobra.Command {
	var apply, replace bool
	cmd := &cobra.Command{
		Use:   "docker",
		Short: "Make kr docker's credential store",
		Long: `Print the configuration that makes kr docker's credential store: "credsStore":
"kr" in config.json of $DOCKER_CONFIG (default ~/.docker), and
docker-credential-kr on PATH (a link to kr). With --apply, write it; running
it again changes nothing. Another credsStore already set is named and left
alone unless --replace is given (its logins stay in its store: log in again).
credHelpers entries, which docker asks before credsStore, are named.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return app.setupDocker(apply || replace, replace)
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "write the configuration")
	cmd.Flags().BoolVar(&replace, "replace", false, "with --apply: replace another credsStore")
	return cmd
}

func (a *App) dockerConfigPath() (string, error) {
	dir := a.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", withHint(fmt.Errorf("find the home directory: %w", err), "set DOCKER_CONFIG")
		}
		dir = filepath.Join(home, ".docker")
	}
	return filepath.Join(dir, "config.json"), nil
}

func (a *App) setupDocker(apply, replace bool) error {
	path, err := a.dockerConfigPath()
	if err != nil {
		return err
	}
	data, err := readConfigFile(path)
	if err != nil {
		return err
	}
	newData, old, err := setCredsStore(data, "kr")
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "fix the file (docker reads it too), then run this again")
	}
	a.dockerNotes(data)
	if !apply {
		fmt.Fprintf(a.IO.Out, "# kr as docker's credential store, in %s:\n{\n\t\"credsStore\": \"kr\"\n}\n", path)
		if old == "kr" {
			fmt.Fprintln(a.IO.Out, "# already configured")
		} else if old != "" {
			fmt.Fprintf(a.IO.Out, "# credsStore is now %q (kr setup docker --replace replaces it)\n", old)
		}
		return a.ensureHelperLink("docker-credential-kr", false)
	}
	if err := a.ensureHelperLink("docker-credential-kr", true); err != nil {
		return err
	}
	switch {
	case old == "kr":
		fmt.Fprintln(a.IO.ErrOut, "kr: docker already uses kr as its credential store")
		return nil
	case old != "" && !replace:
		return withHint(fmt.Errorf("credsStore in %s is already %q; nothing was changed", path, old),
			"'kr setup docker --replace' makes it kr (logins kept by docker-credential-%s stay there: log in again)", old)
	case old != "":
		fmt.Fprintf(a.IO.ErrOut, "kr: replacing credsStore %q (its logins stay in docker-credential-%s: log in again)\n", old, old)
	}
	if err := writeConfigFile(path, newData); err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: set \"credsStore\": \"kr\" in %s\n", path)
	return nil
}

// dockerNotes names what in config.json changes where logins go.
func (a *App) dockerNotes(data []byte) {
	var c struct {
		CredHelpers map[string]string          `json:"credHelpers"`
		Auths       map[string]json.RawMessage `json:"auths"`
	}
	if json.Unmarshal(data, &c) != nil {
		return
	}
	for reg, h := range c.CredHelpers {
		fmt.Fprintf(a.IO.ErrOut, "kr: note: credHelpers sends %s to docker-credential-%s, not kr\n", reg, h)
	}
	n := 0
	for _, raw := range c.Auths {
		var e struct {
			Auth          string `json:"auth"`
			IdentityToken string `json:"identitytoken"`
		}
		if json.Unmarshal(raw, &e) == nil && (e.Auth != "" || e.IdentityToken != "") {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(a.IO.ErrOut, "kr: note: config.json holds %d login(s) in plain text; 'docker login' to each again moves it into kr\n", n)
	}
}

// setCredsStore returns config.json with credsStore set to store, and the
// value it had. Other keys keep their values (docker, which rewrites the
// file on login, orders keys alphabetically too).
func setCredsStore(data []byte, store string) (out []byte, old string, err error) {
	conf := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &conf); err != nil {
			return nil, "", fmt.Errorf("not a JSON object: %v", err)
		}
	}
	if raw, ok := conf["credsStore"]; ok {
		if err := json.Unmarshal(raw, &old); err != nil {
			return nil, "", errors.New("credsStore is not a string")
		}
	}
	conf["credsStore"], _ = json.Marshal(store)
	out, err = json.MarshalIndent(conf, "", "\t")
	if err != nil {
		return nil, "", err
	}
	return append(out, '\n'), old, nil
}

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
