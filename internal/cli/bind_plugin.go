package cli

// The plugin binding: the binding key encrypted to an age plugin identity
// (age-plugin-yubikey, -tpm, -se), so that the plugin's token is needed
// to open it. The program that runs is age-plugin-NAME on this process's
// PATH, NAME coming from the identity the user bound (bind-plugin.key):
// the user's own configuration. The agent never runs a plugin; kr does,
// then hands the agent the key as it hands a passphrase.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/envref"
	"github.com/kr-keyring/kr/internal/limitio"
)

type pluginKeeper struct {
	app *App
	// identity is the AGE-PLUGIN-NAME-1... line to bind to.
	identity string
}

func (k *pluginKeeper) what() string {
	if name, _, err := plugin.ParseIdentity(k.identity); err == nil {
		return "the age plugin age-plugin-" + name
	}
	return "the age plugin"
}

// parsePluginIdentity finds the one plugin identity in an identity file
// (as age-plugin-yubikey --identity prints it): lines of comments and one
// AGE-PLUGIN-NAME-1... line. The error never quotes the file.
func parsePluginIdentity(b []byte, source string) (string, error) {
	var found []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, _, err := plugin.ParseIdentity(line); err != nil {
			return "", fmt.Errorf("%s: a line is not an age plugin identity (AGE-PLUGIN-NAME-1...)", source)
		}
		found = append(found, line)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", source, err)
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s holds %d age plugin identities, and kr binds to exactly one", source, len(found))
	}
	return found[0], nil
}

// ui is how a plugin talks to the user: its messages on stderr, its
// questions (a PIN) through kr's prompt, which uses pinentry when there is
// no terminal.
func (k *pluginKeeper) ui(ctx context.Context) *plugin.ClientUI {
	a := k.app
	return &plugin.ClientUI{
		DisplayMessage: func(name, message string) error {
			fmt.Fprintf(a.IO.ErrOut, "kr: age-plugin-%s: %s\n", name, oneLine(message))
			return nil
		},
		RequestValue: func(name, prompt string, secret bool) (string, error) {
			v, err := a.askSecret(ctx, secretPrompt{
				about: fmt.Sprintf("%s asks to open your identity with age-plugin-%s: %s", a.asker(), name, oneLine(prompt)),
				label: "Answer for age-plugin-" + name + ": ",
			})
			if err != nil {
				return "", err
			}
			defer clear(v)
			return string(v), nil
		},
		Confirm: func(name, prompt, yes, no string) (bool, error) {
			return false, fmt.Errorf("age-plugin-%s asked a question kr cannot put: %s", name, oneLine(prompt))
		},
		WaitTimer: func(name string) {
			fmt.Fprintf(a.IO.ErrOut, "kr: waiting for age-plugin-%s (touch or unlock the token)\n", name)
		},
	}
}

// withoutPassphrases runs f with kr's passphrase and identity variables out
// of the process environment, and puts them back after. age starts a
// plugin with exec.Command and no Env of its own, so the plugin would
// inherit them; kr's other children get agentEnv, which age offers no way
// to pass.
func withoutPassphrases[T any](f func() (T, error)) (T, error) {
	var saved []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); envref.IsPassphraseVar(k) {
			saved = append(saved, kv)
			os.Unsetenv(k)
		}
	}
	defer func() {
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}()
	return f()
}

func (k *pluginKeeper) keep(ctx context.Context, _ filevault.IdentityHome, key []byte) ([]byte, error) {
	return withoutPassphrases(func() ([]byte, error) { return k.keepHere(ctx, key) })
}

func (k *pluginKeeper) keepHere(ctx context.Context, key []byte) ([]byte, error) {
	id, err := plugin.NewIdentity(k.identity, k.ui(ctx))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(k.identity + "\n")
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		return nil, pluginError(err)
	}
	if _, err := w.Write(key); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxBindingKey bounds what a plugin's decryption may return.
const maxBindingKey = 256

func (k *pluginKeeper) give(ctx context.Context, _ filevault.IdentityHome, stored []byte) ([]byte, error) {
	return withoutPassphrases(func() ([]byte, error) { return k.giveHere(ctx, stored) })
}

func (k *pluginKeeper) giveHere(ctx context.Context, stored []byte) ([]byte, error) {
	line, ct, ok := bytes.Cut(stored, []byte("\n"))
	if !ok {
		return nil, errors.New("bind-plugin.key is damaged: run 'kr identity bind plugin' again")
	}
	k.identity = string(line)
	id, err := plugin.NewIdentity(k.identity, k.ui(ctx))
	if err != nil {
		return nil, fmt.Errorf("bind-plugin.key is damaged: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(ct), id)
	if err != nil {
		return nil, pluginError(err)
	}
	return limitio.Read(r, "the binding key", maxBindingKey)
}

func (k *pluginKeeper) drop(context.Context, filevault.IdentityHome) error { return nil }

// pluginError words a plugin that is not installed as such.
func pluginError(err error) error {
	var nf *plugin.NotFoundError
	if errors.As(err, &nf) {
		return withHint(fmt.Errorf("age-plugin-%s is not on PATH: %w", nf.Name, err),
			"install the plugin, or unlock with the passphrase (KR_PASSPHRASE_FILE, the terminal)")
	}
	return err
}
