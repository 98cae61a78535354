package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

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
credHelpers entries, which docker asks before credsStore, are named. With
--vault DIR and --apply, docker-credential-kr may store logins in that vault
even when other members read it; without it a shared vault takes none.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := app.setupDocker(apply || replace, replace); err != nil {
				return err
			}
			return app.setupHelperVault(cmd, apply || replace)
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
		fmt.Fprintf(a.IO.ErrOut, "kr: note: config.json holds %s in plain text; 'docker login' to each again moves it into kr\n", plural(n, "login"))
	}
}

// setCredsStore returns config.json with credsStore set to store, and the
// value it had. Other keys keep their values (docker, which rewrites the
// file on login, orders keys alphabetically too).
func setCredsStore(data []byte, store string) (out []byte, old string, err error) {
	var conf map[string]json.RawMessage
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &conf); err != nil {
			return nil, "", fmt.Errorf("not a JSON object: %v", err)
		}
	}
	if conf == nil {
		// An empty file or null: docker reads either as no settings.
		conf = map[string]json.RawMessage{}
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
