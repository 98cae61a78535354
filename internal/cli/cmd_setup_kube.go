package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/kr-keyring/kr/backends"
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
~/.kube/config. A YAML anchor USER shares with other users is broken for
USER alone. With --apply, write it there;
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
			return app.setupKube(kubeconfig, user, append([]string{"kube-credential"}, pluginArgs...), apply || replace, replace)
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

// kubeconfigPath is the file to edit for user: --kubeconfig; else, of
// $KUBECONFIG's files, the first that has the user (kubectl reads the
// first entry of a name and writes a change where it read it), else the
// first that exists, else the last; else ~/.kube/config. The note says
// which file holds the user when that is not the first one.
func (a *App) kubeconfigPath(flag, user string) (path, note string, err error) {
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
			has, err := kubeHasUser(data, user)
			if err != nil {
				return "", "", withHint(fmt.Errorf("%s: %w", p, err), "fix the file (kubectl reads it too), then run this again")
			}
			if has {
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

// kubeHasUser reports whether a kubeconfig has an entry for user.
func kubeHasUser(data []byte, user string) (bool, error) {
	var c struct {
		Users []struct {
			Name string `yaml:"name"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return false, fmt.Errorf("not a kubeconfig: %v", err)
	}
	for _, u := range c.Users {
		if u.Name == user {
			return true, nil
		}
	}
	return false, nil
}

// kubeExec is the users[].user.exec stanza.
func kubeExec(command string, args []string) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, a := range args {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: a})
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("apiVersion"), str(kubecred.V1),
		str("command"), str(command),
		str("args"), seq,
		str("interactiveMode"), str("IfAvailable"),
	}}
}

func (a *App) setupKube(flag, user string, args []string, apply, replace bool) error {
	path, note, err := a.kubeconfigPath(flag, user)
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
	newData, old, err := setKubeUserExec(data, user, kubeExec(krCommand(), args))
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", path, err), "fix the file (kubectl reads it too), then run this again")
	}
	if !apply {
		entry := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "name"}, {Kind: yaml.ScalarNode, Value: user},
			{Kind: yaml.ScalarNode, Value: "user"}, {Kind: yaml.MappingNode, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "exec"}, kubeExec(krCommand(), args)}},
		}}}}
		stanza, err := encodeYAML(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "users"}, entry}})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.IO.Out, "# kr as the exec credential plugin of user %s, in %s:\n%s", user, path, stanza)
		switch old {
		case "":
		case "kr":
			fmt.Fprintln(a.IO.Out, "# already configured")
		default:
			fmt.Fprintf(a.IO.Out, "# the user now authenticates with %s (kr setup kube --replace replaces it)\n", old)
		}
		return nil
	}
	switch old {
	case "kr":
		fmt.Fprintf(a.IO.ErrOut, "kr: user %s already runs kr\n", user)
		return nil
	case "":
	default:
		if !replace {
			return withHint(fmt.Errorf("user %s in %s already authenticates with %s; nothing was changed", user, path, old),
				"'kr setup kube --replace ...' replaces it")
		}
		fmt.Fprintf(a.IO.ErrOut, "kr: replacing the %s of user %s\n", old, user)
	}
	if err := writeConfigFile(path, newData); err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: user %s in %s runs kr %s\n", user, path, strings.Join(args, " "))
	return nil
}

func encodeYAML(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// The keys of users[].user by which a kubeconfig user authenticates.
var kubeAuthKeys = []string{"exec", "token", "tokenFile", "client-certificate", "client-certificate-data", "client-key", "client-key-data", "username", "password", "auth-provider"}

// setKubeUserExec returns the kubeconfig with user's exec set to exec
// (the user, and the users list, added when missing) and what the user
// authenticated with before: "" for nothing, "kr" when exec was already
// the same, else the keys found. Comments and the order of keys stay.
func setKubeUserExec(data []byte, user string, exec *yaml.Node) (out []byte, old string, err error) {
	var doc yaml.Node
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, "", fmt.Errorf("not YAML: %v", err)
		}
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
		str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
		doc.Content[0].Content = append(doc.Content[0].Content, str("apiVersion"), str("v1"), str("kind"), str("Config"))
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, "", errors.New("the top level is not a mapping")
	}
	// What is changed below (the users list, the user's entry, its user
	// mapping) is first made the entry's own: a node it shares with
	// another user through a YAML anchor and alias would change both.
	if slot := mapSlot(root, "users"); slot != nil {
		unshare(&doc, slot)
	}
	users := mapGet(root, "users", yaml.SequenceNode)
	if users == nil {
		return nil, "", errors.New("users is not a list")
	}
	var entry *yaml.Node
	for i, u := range users.Content {
		if m := resolveAlias(u); m.Kind == yaml.MappingNode {
			if n := resolveAlias(mapValueOrNil(m, "name")); n != nil && n.Value == user {
				entry = unshare(&doc, &users.Content[i])
				break
			}
		}
	}
	if entry == nil {
		entry = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "name"}, {Kind: yaml.ScalarNode, Value: user}}}
		users.Content = append(users.Content, entry)
	}
	if slot := mapSlot(entry, "user"); slot != nil {
		unshare(&doc, slot)
	}
	u := mapGet(entry, "user", yaml.MappingNode)
	if u == nil {
		return nil, "", fmt.Errorf("user %s: user is not a mapping", user)
	}
	if mapValue(u, "<<") != nil {
		return nil, "", fmt.Errorf("user %s takes keys from another through a YAML merge key (<<): change the user yourself", user)
	}
	var found []string
	for _, k := range kubeAuthKeys {
		if mapValue(u, k) != nil {
			found = append(found, k)
		}
	}
	if cur := mapValue(u, "exec"); cur != nil {
		a, _ := encodeYAML(cur)
		b, _ := encodeYAML(exec)
		if bytes.Equal(a, b) && len(found) == 1 {
			return data, "kr", nil
		}
	}
	if len(found) > 0 {
		old = strings.Join(found, ", ")
	}
	// Replace: the other ways to authenticate go, exec is set.
	for _, k := range kubeAuthKeys {
		mapDelete(u, k)
	}
	u.Content = append(u.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "exec"}, exec)
	out, err = encodeYAML(&doc)
	if err != nil {
		return nil, "", err
	}
	if err := sameBesidesUser(data, out, user); err != nil {
		return nil, "", err
	}
	return out, old, nil
}

// sameBesidesUser checks that after, read as kubectl reads YAML (aliases
// expanded), holds what before held except for user's entry.
func sameBesidesUser(before, after []byte, user string) error {
	var a, b map[string]any
	if err := yaml.Unmarshal(before, &a); err != nil {
		return err
	}
	if err := yaml.Unmarshal(after, &b); err != nil {
		return fmt.Errorf("user %s: kr's edit would not read back (%v): change the user yourself", user, err)
	}
	drop := func(m map[string]any) {
		list, _ := m["users"].([]any)
		var kept []any
		for _, e := range list {
			if em, ok := e.(map[string]any); ok && em["name"] == user {
				continue
			}
			kept = append(kept, e)
		}
		m["users"] = kept
	}
	if a == nil {
		a = map[string]any{}
	}
	drop(a)
	drop(b)
	for _, k := range []string{"apiVersion", "kind"} { // added to a new file
		if _, ok := a[k]; !ok {
			delete(b, k)
		}
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Errorf("user %s shares YAML nodes with other entries in a way kr cannot untangle: change the user yourself", user)
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapGet returns m[key], made (of kind) when missing or null; nil when it
// is there but of another kind.
func mapGet(m *yaml.Node, key string, kind yaml.Kind) *yaml.Node {
	v := mapValue(m, key)
	if v != nil && v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "" || v.Value == "null") {
		v.Kind, v.Tag, v.Value = kind, "", ""
		return v
	}
	if v == nil {
		v = &yaml.Node{Kind: kind}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
		return v
	}
	if v.Kind != kind {
		return nil
	}
	return v
}

func mapDelete(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func mapValueOrNil(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	return mapValue(m, key)
}

// mapSlot is where m holds the value of key, or nil.
func mapSlot(m *yaml.Node, key string) **yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return &m.Content[i+1]
		}
	}
	return nil
}

// resolveAlias is the node an alias stands for, else n.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// unshare makes the node in *slot its own, so that changing it changes
// nothing else in doc, and returns it. An alias is replaced by a copy of
// what it stands for. An anchored node that aliases elsewhere use moves to
// the first of them (they come after it, so the rest still find it) and
// the slot gets a copy without the anchor.
func unshare(doc *yaml.Node, slot **yaml.Node) *yaml.Node {
	n := *slot
	if n.Kind == yaml.AliasNode {
		*slot = copyNode(resolveAlias(n))
		return *slot
	}
	if n.Anchor == "" {
		return n
	}
	var uses []**yaml.Node
	walkSlots(doc, func(s **yaml.Node) {
		if (*s).Kind == yaml.AliasNode && (*s).Alias == n {
			uses = append(uses, s)
		}
	})
	if len(uses) == 0 {
		return n
	}
	own := copyNode(n)
	*slot = own
	*uses[0] = n
	return own
}

// walkSlots calls f with every place in the tree below n that holds a
// node, in document order.
func walkSlots(n *yaml.Node, f func(**yaml.Node)) {
	for i := range n.Content {
		f(&n.Content[i])
		walkSlots(n.Content[i], f)
	}
}

// copyNode copies n deeply, anchors left out (an alias inside still
// stands for the node it named).
func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		if k.Kind == yaml.AliasNode {
			c.Content[i] = k
		} else {
			c.Content[i] = copyNode(k)
		}
	}
	return &c
}
