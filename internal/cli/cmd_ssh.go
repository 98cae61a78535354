package cli

// This file is `kr ssh`: SSH private keys kept as secrets named ssh/NAME,
// loaded into the agent's SSH key service, which serves OpenSSH.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/agent/sshagent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/limitio"
	"github.com/kr-keyring/kr/internal/sshwire"
)

// sshPrefix is where SSH keys live among secrets. One prefix makes them
// one listing (kr ls ssh/), lets `kr mount ssh DIR` put them in a vault of
// their own, and tells `kr unlock` which secrets are keys to load.
const sshPrefix = "ssh/"

// sshKeysRecord holds the constraints each key is loaded with, so that a
// confirm key stays one across agent restarts.
const sshKeysRecord = "ssh-keys.json"

type sshKeyOpts struct {
	Confirm  bool  `json:"confirm,omitempty"`
	Lifetime int64 `json:"lifetime_seconds,omitempty"`
}

type sshKeysFile struct {
	V    int                   `json:"v"`
	Keys map[string]sshKeyOpts `json:"keys"` // by service and secret name
}

func newSSHCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ssh",
		Short: "SSH keys kept in kr, served to OpenSSH by the agent",
		Long: `SSH private keys are stored as secrets named ssh/NAME (in the recorded store, or a
vault mounted at ssh) and loaded, sealed, into the agent, which serves them to
OpenSSH on its own socket (eval "$(kr ssh env)"). kr unlock loads them again
after kr lock; while locked, ssh-add -L lists them but nothing is signed.`,
	}
	cmd.AddCommand(newSSHKeygenCmd(app), newSSHAddCmd(app), newSSHLsCmd(app), newSSHRmCmd(app), newSSHEnvCmd(app))
	return cmd
}

func sshKeyFlags(cmd *cobra.Command, o *sshKeyOpts, lifetime *time.Duration) {
	cmd.Flags().BoolVar(&o.Confirm, "confirm", false, "ask (pinentry) before each use of the key")
	cmd.Flags().DurationVar(lifetime, "lifetime", 0, "remove the key from the agent after this long (0: keep)")
}

func newSSHKeygenCmd(app *App) *cobra.Command {
	var typ string
	var bits int
	var o sshKeyOpts
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "keygen NAME",
		Short: "Make an SSH key, keep it in kr and print its public key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := sshPrefix + args[0]
			if err := backends.ValidateName(name); err != nil {
				return err
			}
			o.Lifetime = int64(lifetime / time.Second)
			var priv crypto.Signer
			var err error
			switch typ {
			case "ed25519":
				_, priv, err = ed25519.GenerateKey(rand.Reader)
			case "ecdsa":
				var c elliptic.Curve
				switch bits {
				case 0, 256:
					c = elliptic.P256()
				case 384:
					c = elliptic.P384()
				case 521:
					c = elliptic.P521()
				default:
					return usagef("--bits for ecdsa is 256, 384 or 521")
				}
				priv, err = ecdsa.GenerateKey(c, rand.Reader)
			case "rsa":
				if bits == 0 {
					bits = 3072
				}
				if bits < 2048 || bits > 8192 {
					return usagef("--bits for rsa is between 2048 and 8192")
				}
				priv, err = rsa.GenerateKey(rand.Reader, bits)
			default:
				return usagef("--type is ed25519, ecdsa or rsa")
			}
			if err != nil {
				return err
			}
			return app.storeSSHKey(cmd.Context(), args[0], priv, o, true)
		},
	}
	cmd.Flags().StringVarP(&typ, "type", "t", "ed25519", "ed25519, ecdsa or rsa")
	cmd.Flags().IntVarP(&bits, "bits", "b", 0, "ecdsa: 256, 384, 521; rsa: 2048-8192 (default 3072)")
	sshKeyFlags(cmd, &o, &lifetime)
	return cmd
}

func newSSHAddCmd(app *App) *cobra.Command {
	var keyName string
	var o sshKeyOpts
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use:   "add FILE",
		Short: "Import an OpenSSH private key into kr and the agent",
		Long: `Read an OpenSSH (or PEM) private key file, keep it in kr as ssh/NAME (NAME: --name,
else the file's name) and load it into the agent. A key with a passphrase asks
for it at the terminal, or reads it from the file KR_SSH_PASSPHRASE_FILE names.
The file itself is left as it is.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyName == "" {
				keyName = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
				if strings.HasPrefix(filepath.Base(args[0]), "id_") {
					keyName = filepath.Base(args[0])
				}
			}
			if err := backends.ValidateName(sshPrefix + keyName); err != nil {
				return err
			}
			o.Lifetime = int64(lifetime / time.Second)
			b, err := limitio.ReadFile(args[0], 64<<10)
			if err != nil {
				return err
			}
			defer clear(b)
			priv, err := sshwire.ParsePrivateKey(b)
			if errors.Is(err, sshwire.ErrPassphraseNeeded) {
				pass, perr := app.sshKeyPassphrase(cmd.Context(), args[0])
				if perr != nil {
					return perr
				}
				priv, err = sshwire.ParsePrivateKeyWithPassphrase(b, pass)
				clear(pass)
				if errors.Is(err, sshwire.ErrWrongPassphrase) {
					return withHint(fmt.Errorf("%s: wrong passphrase", args[0]), "nothing was stored; try again")
				}
			}
			if err != nil {
				return withHint(fmt.Errorf("%s: not a private key kr can read: %v", args[0], err), "kr reads OpenSSH and PEM ed25519, ecdsa and rsa keys")
			}
			return app.storeSSHKey(cmd.Context(), keyName, priv, o, false)
		},
	}
	cmd.Flags().StringVar(&keyName, "name", "", "the key's name in kr (ssh/NAME)")
	sshKeyFlags(cmd, &o, &lifetime)
	return cmd
}

// sshKeyPassphrase asks for a key file's passphrase: KR_SSH_PASSPHRASE_FILE,
// else the terminal.
func (a *App) sshKeyPassphrase(ctx context.Context, file string) ([]byte, error) {
	if p, ok, err := a.readSecretFile("KR_SSH_PASSPHRASE_FILE"); ok || err != nil {
		return p, err
	}
	p, err := a.askSecret(ctx, secretPrompt{
		about: fmt.Sprintf("%s asks to import the SSH key %s, which has a passphrase", a.asker(), file),
		label: fmt.Sprintf("Passphrase of %s: ", file),
	})
	if errors.Is(err, errNoTerminal) {
		return nil, withHint(fmt.Errorf("%w: %s has a passphrase and there is no terminal", backends.ErrLocked, file),
			"set KR_SSH_PASSPHRASE_FILE to a file holding it")
	}
	return p, err
}

// storeSSHKey keeps priv as ssh/NAME, records its constraints and loads it
// into the agent; printPub prints its public key on stdout.
func (a *App) storeSSHKey(parent context.Context, keyName string, priv crypto.Signer, o sshKeyOpts, printPub bool) error {
	ctx, cancel := a.context(parent)
	defer cancel()
	name := sshPrefix + keyName
	pemBytes, err := sshwire.MarshalPrivateKey(priv, keyName)
	if err != nil {
		return err
	}
	defer clear(pemBytes)
	b, err := a.secrets()
	if err != nil {
		return err
	}
	if ok, err := a.exists(ctx, name); err != nil {
		return err
	} else if ok {
		return withHint(fmt.Errorf("%s exists", name), "'kr ssh rm %s' first, or choose another name", keyName)
	}
	if err := a.recordSSHKey(name, &o); err != nil {
		return err
	}
	if err := b.Set(ctx, name, pemBytes); err != nil {
		a.recordSSHKey(name, nil)
		return err
	}
	blob, err := sshwire.MarshalPublicKey(priv.Public())
	if err != nil {
		return err
	}
	if printPub {
		if _, err := fmt.Fprintf(a.stdout(), "%s %s\n", sshwire.AuthorizedKey(blob), keyName); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: stored %s (%s)\n", name, sshwire.Fingerprint(blob))
	if a.agentDisabled() {
		return nil
	}
	c, err := a.ensureAgent(ctx)
	if err == nil {
		defer c.Close()
		err = sshagent.Load(c.SSH, priv, keyName, o.Confirm, agent.DefaultTTL, time.Duration(o.Lifetime)*time.Second)
	}
	if err != nil {
		return withHint(fmt.Errorf("%s is stored but not loaded into the agent: %w", name, err), "'kr unlock' loads it")
	}
	return nil
}

// recordSSHKey records (o != nil) or forgets a key's constraints.
func (a *App) recordSSHKey(name string, o *sshKeyOpts) error {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return err
	}
	id := a.Service + "/" + name
	return config.Update(filepath.Join(dir, sshKeysRecord), func(old []byte) ([]byte, error) {
		f, err := parseSSHKeys(old)
		if err != nil {
			return nil, err
		}
		if o == nil {
			delete(f.Keys, id)
		} else {
			f.Keys[id] = *o
		}
		return json.MarshalIndent(f, "", "  ")
	})
}

func parseSSHKeys(b []byte) (*sshKeysFile, error) {
	f := &sshKeysFile{V: 1, Keys: map[string]sshKeyOpts{}}
	if len(b) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(b, f); err != nil || f.V != 1 {
		return nil, fmt.Errorf("%s: damaged or of another version", sshKeysRecord)
	}
	if f.Keys == nil {
		f.Keys = map[string]sshKeyOpts{}
	}
	return f, nil
}

func (a *App) sshKeyOpts(name string) sshKeyOpts {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return sshKeyOpts{}
	}
	b, _ := limitio.ReadFile(filepath.Join(dir, sshKeysRecord), config.MaxRecord)
	f, err := parseSSHKeys(b)
	if err != nil {
		return sshKeyOpts{Confirm: true} // damaged: ask rather than not
	}
	return f.Keys[a.Service+"/"+name]
}

// loadSSHKeys loads every stored key into the agent for ttl; kr unlock
// calls it. A key that fails is named and the others still load.
func (a *App) loadSSHKeys(ctx context.Context, c *agent.Client, ttl time.Duration) (int, error) {
	b, err := a.secrets()
	if err != nil {
		return 0, err
	}
	names, err := b.List(ctx, sshPrefix)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, name := range names {
		v, err := b.Get(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		priv, err := sshwire.ParsePrivateKey(v)
		clear(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: not a private key: %v", name, err))
			continue
		}
		o := a.sshKeyOpts(name)
		if err := sshagent.Load(c.SSH, priv, strings.TrimPrefix(name, sshPrefix), o.Confirm, ttl, time.Duration(o.Lifetime)*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func newSSHLsCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "List the SSH keys kept in kr, and what the agent holds of them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			b, err := app.secrets()
			if err != nil {
				return err
			}
			names, err := b.List(ctx, sshPrefix)
			if err != nil {
				return err
			}
			held := map[string]string{}
			if c, err := app.dialAgent(ctx); err == nil {
				defer c.Close()
				if keys, err := sshagent.List(c.SSH); err == nil {
					for _, k := range keys {
						held[k.Comment] = sshwire.Fingerprint(k.Blob)
					}
				}
			}
			sort.Strings(names)
			out := app.stdout()
			for _, n := range names {
				k := strings.TrimPrefix(n, sshPrefix)
				state := "not loaded"
				if fp, ok := held[k]; ok {
					state = fp
				}
				if _, err := fmt.Fprintf(out, "%s\t%s\n", k, state); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newSSHRmCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove an SSH key from kr and the agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := sshPrefix + args[0]
			if err := backends.ValidateName(name); err != nil {
				return err
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			if c, err := app.dialAgent(ctx); err == nil {
				defer c.Close()
				if keys, err := sshagent.List(c.SSH); err == nil {
					for _, k := range keys {
						if k.Comment == args[0] {
							sshagent.Remove(c.SSH, k.Blob)
						}
					}
				}
			}
			b, err := app.secrets()
			if err != nil {
				return err
			}
			if err := b.Delete(ctx, name); err != nil {
				return app.getError(ctx, name, err)
			}
			return app.recordSSHKey(name, nil)
		},
	}
}

func newSSHEnvCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print the SSH_AUTH_SOCK line for a shell (starts the agent)",
		Long: `Print the line that points OpenSSH at kr's agent:

  eval "$(kr ssh env)"                       # sh, bash, zsh
  kr ssh env --format fish | source          # fish
  kr ssh env --format powershell | Invoke-Expression`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "sh" && format != "fish" && format != "powershell" {
				return usagef("--format is sh, fish or powershell")
			}
			ctx, cancel := app.context(cmd.Context())
			defer cancel()
			c, err := app.ensureAgent(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			addr, err := sshagent.Address(c.SSH)
			if err != nil {
				return withHint(err, "the agent could not listen for OpenSSH; 'kr agent stop' and try again")
			}
			q := "'" + strings.ReplaceAll(addr, "'", `'\''`) + "'"
			var line string
			switch format {
			case "sh":
				line = "SSH_AUTH_SOCK=" + q + "; export SSH_AUTH_SOCK;"
			case "fish":
				line = "set -gx SSH_AUTH_SOCK '" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(addr) + "';"
			case "powershell":
				line = "$env:SSH_AUTH_SOCK = '" + strings.ReplaceAll(addr, "'", "''") + "'"
			}
			_, err = fmt.Fprintln(app.stdout(), line)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "sh", "sh, fish or powershell")
	return cmd
}
