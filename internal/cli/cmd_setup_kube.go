package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/kubecred"
)

func newSetupKubeCmd(app *App) *cobra.Command {
	var apply, replace bool
	var user, kubeconfig, certName, keyName string
	cmd := &cobra.Command{
		Use:   "kube [NAME] --user USER [--client-certificate NAME --client-key NAME]",
		Short: "Make kr the exec credential plugin of a kubeconfig user",
		Long: `Print the users[] entry that makes kubectl run kr as the exec credential plugin
of USER, handing over the token stored under NAME, or the client certificate
and key stored under the flags' names. The file is --kubeconfig; else, as
kubectl config chooses, the first file of $KUBECONFIG that has USER (named
when it is not the first), else its first file that exists; else
~/.kube/config. With --apply, write it there through kubectl (kubectl config
set-credentials, so the file is written as kubectl writes it: comments go and
YAML anchors are expanded; a file that had any is first kept as FILE.before-kr);
running it again changes nothing. A user that already authenticates another
way (another exec plugin, a token, a certificate) is named and left alone
unless --replace is given. kr prompts for an unlock passphrase only when
kubectl lets the plugin use the terminal (interactiveMode IfAvailable).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pluginArgs []string
			if len(args) == 1 {
				pluginArgs = append(pluginArgs, args[0])
			}
			if (certName == "") != (keyName == "") {
				return usagef("--client-certificate and --client-key go together")
			}
			if certName != "" {
				pluginArgs = append(pluginArgs, "--client-certificate", certName, "--client-key", keyName)
			}
			if len(pluginArgs) == 0 {
				return usagef("give the token's NAME, or --client-certificate and --client-key")
			}
			for _, n := range []string{certName, keyName, strings.Join(args, "")} {
				if n != "" {
					if err := backends.ValidateName(n); err != nil {
						return err
					}
				}
			}
			if user == "" {
				return usagef("--user names the kubeconfig user to configure")
			}
			return app.setupKube(cmd.Context(), kubeconfig, user, append([]string{"kube-credential"}, pluginArgs...), apply || replace, replace)
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "the kubeconfig user (users[].name)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "the kubeconfig file")
	cmd.Flags().StringVar(&certName, "client-certificate", "", "secret holding the client certificate (PEM)")
	cmd.Flags().StringVar(&keyName, "client-key", "", "secret holding the client certificate's key (PEM)")
	cmd.Flags().BoolVar(&apply, "apply", false, "write the configuration")
	cmd.Flags().BoolVar(&replace, "replace", false, "with --apply: replace the user's other authentication")
	return cmd
}

// kubectl reads and changes kubeconfig files for kr setup kube. kubectl is
// the client the configuration is for, so it is there when someone sets kr
// up for it; kr itself then needs no YAML library, whose initialisation
// every kr command would otherwise pay for at start.
type kubectl struct{ path string }

func findKubectl() (kubectl, error) {
	p, err := exec.LookPath("kubectl")
	if err != nil {
		return kubectl{}, withHint(errors.New("kr setup kube reads and changes the kubeconfig with kubectl, and there is no kubectl in PATH"),
			"install kubectl (the client the kubeconfig is for), then run this again")
	}
	return kubectl{path: p}, nil
}

// run runs kubectl with args on file alone (KUBECONFIG does not apply).
func (k kubectl) run(ctx context.Context, file string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, k.path, append([]string{"--kubeconfig", file}, args...)...)
	cmd.Env = agentEnv(os.Environ()) // no passphrase of kr's reaches kubectl
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl %s %s: %v: %s", args[0], args[1], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// users reads the users of one kubeconfig file as kubectl reads them
// (aliases and merge keys expanded), name -> the keys of its user
// mapping. kubectl redacts the credentials: kr sees only which are set.
func (k kubectl) users(ctx context.Context, file string) (map[string]map[string]json.RawMessage, error) {
	out, err := k.run(ctx, file, "config", "view", "-o", "json")
	if err != nil {
		return nil, err
	}
	var c struct {
		Users []struct {
			Name string                     `json:"name"`
			User map[string]json.RawMessage `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("kubectl config view: %v", err)
	}
	users := make(map[string]map[string]json.RawMessage, len(c.Users))
	for _, u := range c.Users {
		if _, dup := users[u.Name]; !dup { // kubectl uses the first
			users[u.Name] = u.User
		}
	}
	return users, nil
}

// setExec returns the kubeconfig data (nil: no file yet) with user's exec
// set to run command with args, after unsetting the keys in drop. kubectl
// edits a copy in a directory of kr's own beside the file, so that the
// file itself is replaced in one step (writeConfigFile) or not at all.
func (k kubectl) setExec(ctx context.Context, path string, data []byte, user, command string, args, drop []string) ([]byte, error) {
	dir := os.TempDir()
	if data != nil { // the copy holds the file's credentials: keep it where they are
		target, err := linkTarget(path)
		if err != nil {
			return nil, err
		}
		dir = filepath.Dir(target)
	}
	tmp, err := os.MkdirTemp(dir, ".kr-kube-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, "config")
	if data != nil {
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return nil, err
		}
	}
	for _, key := range drop {
		if _, err := k.run(ctx, file, "config", "unset", "users."+user+"."+key); err != nil {
			return nil, err
		}
	}
	set := []string{"config", "set-credentials", "--exec-command=" + command, "--exec-api-version=" + kubecred.V1, "--exec-interactive-mode=IfAvailable"}
	for _, a := range args {
		set = append(set, "--exec-arg="+a)
	}
	if _, err := k.run(ctx, file, append(set, "--", user)...); err != nil {
		return nil, err
	}
	return os.ReadFile(file)
}

// kubeconfigPath is the file to edit for user: --kubeconfig; else, of
// $KUBECONFIG's files, the first that has the user (kubectl reads the
// first entry of a name and writes a change where it read it), else the
// first that exists, else the last; else ~/.kube/config. The note says
// which file holds the user when that is not the first one.
func (a *App) kubeconfigPath(ctx context.Context, k kubectl, flag, user string) (path, note string, err error) {
	if flag != "" {
		return flag, "", nil
	}
	var files []string
	for _, p := range filepath.SplitList(a.Getenv("KUBECONFIG")) {
		if p != "" {
			files = append(files, p)
		}
	}
	if len(files) == 1 {
		return files[0], "", nil
	}
	if len(files) > 1 {
		firstExisting := ""
		for i, p := range files {
			data, err := readConfigFile(p)
			if err != nil {
				return "", "", err
			}
			if data == nil {
				continue
			}
			if firstExisting == "" {
				firstExisting = p
			}
			users, err := k.users(ctx, p)
			if err != nil {
				return "", "", withHint(fmt.Errorf("%s: %w", p, err), "fix the file (kubectl reads it too), then run this again")
			}
			if _, has := users[user]; has {
				if i > 0 {
					note = fmt.Sprintf("user %s is in %s (file %d of KUBECONFIG), which kubectl reads for it: changing it there", user, p, i+1)
				}
				return p, note, nil
			}
		}
		if firstExisting != "" {
			return firstExisting, "", nil
		}
		return files[len(files)-1], "", nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", "", withHint(fmt.Errorf("find the home directory: %w", err), "give --kubeconfig")
	}
	return filepath.Join(home, ".kube", "config"), "", nil
}

// The keys of users[].user by which a kubeconfig user authenticates.
var kubeAuthKeys = []string{"exec", "token", "tokenFile", "client-certificate", "client-certificate-data", "client-key", "client-key-data", "username", "password", "auth-provider"}

// kubeAuth returns the keys by which user (its user mapping as kubectl
// prints it) authenticates, and whether that is already kr's exec and
// nothing else.
func kubeAuth(u map[string]json.RawMessage, command string, args []string) (found []string, isKr bool) {
	for _, k := range kubeAuthKeys {
		if _, ok := u[k]; ok {
			found = append(found, k)
		}
	}
	if len(found) != 1 || found[0] != "exec" {
		return found, false
	}
	var e struct {
		APIVersion         string            `json:"apiVersion"`
		Command            string            `json:"command"`
		Args               []string          `json:"args"`
		Env                []json.RawMessage `json:"env"`
		InteractiveMode    string            `json:"interactiveMode"`
		ProvideClusterInfo bool              `json:"provideClusterInfo"`
	}
	if json.Unmarshal(u["exec"], &e) != nil {
		return found, false
	}
	return found, e.APIVersion == kubecred.V1 && e.Command == command && slices.Equal(e.Args, args) &&
		len(e.Env) == 0 && e.InteractiveMode == "IfAvailable" && !e.ProvideClusterInfo
}

func (a *App) setupKube(ctx context.Context, flag, user string, args []string, apply, replace bool) error {
	k, err := findKubectl()
	if err != nil {
		return err
	}
	path, note, err := a.kubeconfigPath(ctx, k, flag, user)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(a.IO.ErrOut, "kr: note: %s\n", note)
	}
	data, err := readConfigFile(path)
	if err != nil {
		return err
	}
	var entry map[string]json.RawMessage
	if data != nil {
		users, err := k.users(ctx, path)
		if err != nil {
			return withHint(fmt.Errorf("%s: %w", path, err), "fix the file (kubectl reads it too), then run this again")
		}
		entry = users[user]
	}
	command := krCommand()
	found, isKr := kubeAuth(entry, command, args)
	old := strings.Join(found, ", ")
	if !apply {
		fmt.Fprintf(a.IO.Out, "# kr as the exec credential plugin of user %s, in %s:\n%s", user, path, kubeStanza(user, command, args))
		switch {
		case isKr:
			fmt.Fprintln(a.IO.Out, "# already configured")
		case old != "":
			fmt.Fprintf(a.IO.Out, "# the user now authenticates with %s (kr setup kube --replace replaces it)\n", old)
		}
		return nil
	}
	switch {
	case isKr:
		fmt.Fprintf(a.IO.ErrOut, "kr: user %s already runs kr\n", user)
		return nil
	case old == "":
	case !replace:
		return withHint(fmt.Errorf("user %s in %s already authenticates with %s; nothing was changed", user, path, old),
			"'kr setup kube --replace ...' replaces it")
	default:
		fmt.Fprintf(a.IO.ErrOut, "kr: replacing the %s of user %s\n", old, user)
	}
	newData, err := k.setExec(ctx, path, data, user, command, args, found)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w; nothing was changed", path, err), "fix the file (kubectl reads it too), then run this again")
	}
	if mayLoseWriting(data) {
		// kubectl writes the file back without its comments, and with
		// anchors and merge keys expanded: what the user wrote is kept
		// beside it first. A later run finds nothing to lose and leaves
		// this copy as it is.
		kept := path + ".before-kr"
		if err := atomicfile.Write(kept, data); err != nil {
			return fmt.Errorf("keep %s as it was: %w; nothing was changed", path, err)
		}
		if err := os.Chmod(kept, 0o600); err != nil {
			return fmt.Errorf("keep %s as it was: %w; nothing was changed", path, err)
		}
		fmt.Fprintf(a.IO.ErrOut, "kr: note: kubectl writes %s without its comments and anchors; the file as it was is in %s\n", path, kept)
	}
	if err := writeConfigFile(path, newData); err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: user %s in %s runs kr %s\n", user, path, strings.Join(args, " "))
	return nil
}

// mayLoseWriting reports whether a kubeconfig holds what kubectl does not
// write back: a comment, an anchor or alias, a merge key. It errs towards
// yes (a '#' or '&' in a URL counts), which only keeps a copy.
func mayLoseWriting(data []byte) bool {
	return bytes.ContainsAny(data, "#&*") || bytes.Contains(data, []byte("<<"))
}

// kubeStanza is the users[] entry --apply writes, as YAML.
func kubeStanza(user, command string, args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = yamlString(a)
	}
	return "users:\n  - name: " + yamlString(user) + "\n    user:\n      exec:\n" +
		"        apiVersion: " + kubecred.V1 + "\n        command: " + yamlString(command) + "\n" +
		"        args: [" + strings.Join(q, ", ") + "]\n        interactiveMode: IfAvailable\n"
}

// yamlString writes s as a YAML string: plain when YAML reads it back as
// that string in block and flow context alike, else double-quoted (a JSON
// string is a YAML double-quoted scalar).
func yamlString(s string) string {
	plain := s != "" && !strings.ContainsAny(s[:1], ".-+@0123456789")
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./@+-", r)) {
			plain = false
		}
	}
	switch strings.ToLower(s) { // YAML 1.1's booleans and null
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		plain = false
	}
	if plain {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}
