package cli

// This file mounts cloud secret stores (AWS Secrets Manager, SSM Parameter
// Store, Vault KV v2) like vaults: read-only, reached only when a name
// under the mount is asked for.

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/remote/aws"
	"github.com/kr-keyring/kr/backends/remote/vault"
	"github.com/kr-keyring/kr/internal/awscred"
	"github.com/kr-keyring/kr/internal/config"
)

// remoteTarget reads a mount's target when it names a cloud store:
// aws-secretsmanager:[REGION], aws-ssm:[REGION], vault+https://HOST/MOUNT.
// ok is false for anything else (a directory).
func remoteTarget(s string, ttl time.Duration) (t config.MountTarget, ok bool, err error) {
	switch {
	case strings.HasPrefix(s, config.MountAWSSecrets+":"), strings.HasPrefix(s, config.MountAWSSSM+":"):
		kind, region, _ := strings.Cut(s, ":")
		t = config.MountTarget{Kind: kind, Region: region}
	case strings.HasPrefix(s, "vault+"):
		u, perr := url.Parse(strings.TrimPrefix(s, "vault+"))
		if perr != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.RawQuery != "" || u.User != nil {
			return t, true, usagef("%q: want vault+https://HOST[:PORT]/MOUNT, MOUNT the KV engine's path", s)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
			return t, true, usagef("%q: a Vault token travels only over https (http is allowed to this machine alone)", s)
		}
		u.Path = "/" + strings.Trim(u.Path, "/")
		t = config.MountTarget{Kind: config.MountVault, URL: u.String()}
	default:
		if ttl != 0 {
			return t, false, usagef("--ttl is for cloud stores; a vault is unlocked as a whole")
		}
		return t, false, nil
	}
	if ttl < 0 || ttl > 24*time.Hour {
		return t, true, usagef("--ttl %v: want 0 (no caching) to 24h", ttl)
	}
	t.TTL = int(ttl / time.Second)
	return t, true, nil
}

func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// mountRemote records a cloud store at prefix, once the same checks as a
// vault's pass and its credentials do not come through itself.
func (a *App) mountRemote(ctx context.Context, prefix string, t config.MountTarget) error {
	prefix, err := a.checkMount(ctx, prefix, "")
	if err != nil {
		return err
	}
	if _, err := a.openRemote(t, &backends.Mount{Prefix: prefix, Label: t.String(), Remote: true}); err != nil {
		return fmt.Errorf("%w; nothing was mounted", err)
	}
	err = a.updateRecord(func(rec *config.Stores) error {
		if err := mountClash(rec.Mounts(a.Service), prefix, ""); err != nil {
			return err
		}
		return rec.Mount(a.Service, prefix, t)
	})
	if err != nil {
		return err
	}
	cache := "values are fetched on every read"
	if t.TTL > 0 {
		cache = fmt.Sprintf("the agent keeps values it is given for %s", time.Duration(t.TTL)*time.Second)
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: mounted %s at %s/, read-only: names under %s/ now live there; %s\n", t, prefix, prefix, cache)
	return nil
}

// openRemote returns the cloud store t names. adding is the mount being
// made, when there is one: it counts among the mounts a credential_process
// may not read through.
func (a *App) openRemote(t config.MountTarget, adding *backends.Mount) (backends.Backend, error) {
	opts := aws.Options{Region: t.Region, Env: a.Getenv, Guard: func(argv []string) error { return a.credentialLoop(argv, adding) }}
	switch t.Kind {
	case config.MountAWSSecrets:
		return aws.NewSecretsManager(opts)
	case config.MountAWSSSM:
		return aws.NewSSM(opts)
	case config.MountVault:
		return vault.New(vault.Options{URL: t.URL, Env: a.Getenv})
	}
	return nil, fmt.Errorf("mounts of kind %q need a newer kr", t.Kind)
}

// credentialLoop refuses an AWS credential_process that is kr reading its
// keys from a cloud mount: signing in to the store would need the store
// (or another one that needs signing in the same way).
func (a *App) credentialLoop(argv []string, adding *backends.Mount) error {
	if !isKr(argv[0]) {
		return nil
	}
	prefix := ""
	for i, arg := range argv {
		if arg == "aws-credentials" {
			for _, next := range argv[i+1:] {
				if !strings.HasPrefix(next, "-") {
					prefix = next
					break
				}
			}
			break
		}
	}
	if prefix == "" {
		return nil
	}
	keyID, _, _, _ := awscred.Names(prefix)
	var m backends.Mount
	routed := false
	if adding != nil && strings.HasPrefix(keyID, adding.Prefix+"/") {
		m, routed = *adding, true
	} else if ns, err := a.namespace(); err == nil {
		if mm, _, ok := ns.Route(keyID); ok && mm.Remote {
			m, routed = mm, true
		}
	}
	if !routed {
		return nil
	}
	return withHint(fmt.Errorf("the AWS credential_process (kr aws-credentials %s) reads its keys from %s/, mounted on %s: signing in to a cloud store cannot go through a cloud store",
		prefix, m.Prefix, m.Label),
		"keep the AWS keys kr hands out outside cloud mounts (kr mv them into the service's store or a vault)")
}

// isKr reports whether a command is kr: named kr, or this executable.
func isKr(cmd string) bool {
	base := strings.TrimSuffix(filepath.Base(cmd), ".exe")
	if base == "kr" {
		return true
	}
	self, err := os.Executable()
	return err == nil && (cmd == self || filepath.Base(self) == filepath.Base(cmd))
}

// remoteTTL is how long the agent may keep values of the cloud mount m.
func (a *App) remoteTTL(m backends.Mount) time.Duration {
	rec, err := a.storeRecord()
	if err != nil {
		return 0
	}
	return time.Duration(rec.Mounts(a.Service)[m.Prefix].TTL) * time.Second
}

// keepRemote hands a value the CLI fetched from a cloud mount with a TTL
// to the agent, starting it when needed. The agent never fetches: it keeps
// what it is given, in memory, until the TTL ends. A failure costs only a
// fetch next time, so it is not an error.
func (a *App) keepRemote(ctx context.Context, name string, v []byte) {
	m, mounted := a.mountOf(name)
	if !mounted || !m.Remote || a.agentDisabled() {
		return
	}
	ttl := a.remoteTTL(m)
	key := a.cacheKey(name)
	if ttl <= 0 || key == "" {
		return
	}
	c, err := a.ensureAgent(ctx)
	if err != nil {
		return
	}
	a.keepAgentConn(c)
	if c.CachePut(key, v, ttl) == nil {
		a.markCached(time.Now().Add(ttl + time.Second))
	}
}
