package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
)

// mountOptions is kr mount's command line: no Prefix lists the mounts.
type mountOptions struct {
	Prefix string
	Target string        // a vault's directory, or a cloud store (remoteTarget)
	JSON   bool          // --json: list as JSON
	TTL    time.Duration // --ttl: how long the agent may keep a cloud store's values
}

func newMountCmd(app *App) *cobra.Command { return mountCmd(app, app.runMount) }

// mountCmd parses kr mount's command line into mountOptions and hands them
// to run: app.runMount, or a test's, to check the parsing alone.
func mountCmd(app *App, run func(context.Context, *mountOptions) error) *cobra.Command {
	var opts mountOptions
	cmd := &cobra.Command{
		Use:   "mount [PREFIX DIR]",
		Short: "Bind the names under PREFIX/ to the file vault in DIR, or list the mounts",
		Long: `Bind every name under PREFIX/ to the file vault in DIR: with team mounted on
~/team-vault, 'kr set team/db/prod' writes db/prod in that vault, and every
command that takes a name (get, ls, rm, mv, cp, exec, env, import, export,
completion) goes there for it. Every other name stays in the store recorded
for the service. A mounted name never reaches that store, and nothing falls
back from one to the other.

A mount may not overlap another (team and team/prod), and is refused while
the service's store holds names under PREFIX/ (move them first with 'kr mv').
DIR must hold a vault ('kr vault init DIR --mount PREFIX' creates and mounts
one). Without arguments, list the mounts of the service. Mounts are recorded
per service in kr's configuration directory; 'kr unmount PREFIX' forgets one.

A cloud store mounts the same way, read-only:
  kr mount cloud aws-secretsmanager:[REGION]   the secret NAME is cloud/NAME
  kr mount params aws-ssm:[REGION]             the parameter /NAME is params/NAME
  kr mount team vault+https://HOST/MOUNT        Vault or OpenBao KV v2 at MOUNT
AWS stores read the AWS CLI's configuration (AWS_ACCESS_KEY_ID..., AWS_PROFILE
with ~/.aws/credentials and ~/.aws/config, AWS_REGION, AWS_ENDPOINT_URL);
Vault reads VAULT_TOKEN (or ~/.vault-token) and VAULT_CACERT. 'kr ls PREFIX/'
lists the store; a plain 'kr ls' and completion never reach it. With --ttl
the agent keeps fetched values that long (in memory only).`,
		Args: cobra.MatchAll(cobra.RangeArgs(0, 2), func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return usagef("kr mount takes PREFIX and DIR, or nothing to list the mounts")
			}
			return nil
		}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 2 {
				opts.Prefix, opts.Target = args[0], args[1]
			}
			return run(cmd.Context(), &opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "list the mounts as JSON")
	cmd.Flags().DurationVar(&opts.TTL, "ttl", 0, "a cloud store's values may stay in the agent this long (0: never)")
	return cmd
}

// runMount lists the mounts, or mounts opts.Target at opts.Prefix: a cloud
// store when remoteTarget reads it as one, else the vault in that
// directory.
func (a *App) runMount(parent context.Context, opts *mountOptions) error {
	ctx, cancel := a.context(parent)
	defer cancel()
	if opts.Prefix == "" {
		return a.listMounts(opts.JSON)
	}
	t, remote, err := remoteTarget(opts.Target, opts.TTL)
	if err != nil {
		return err
	}
	if remote {
		return a.mountRemote(ctx, opts.Prefix, t)
	}
	return a.mount(ctx, opts.Prefix, opts.Target)
}

func newUnmountCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "unmount PREFIX",
		Short: "Forget a mount; its secrets stay in its vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix := strings.TrimSuffix(args[0], "/")
			var was config.MountTarget
			err := app.updateRecord(func(rec *config.Stores) error {
				was = rec.Mounts(app.Service)[prefix]
				if !rec.Unmount(app.Service, prefix) {
					return withHint(fmt.Errorf("nothing is mounted at %s/", prefix), "'kr mount' lists the mounts")
				}
				return nil
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(app.IO.ErrOut, "kr: unmounted %s/; its secrets stay in %s\n", prefix, was)
			return nil
		},
	}
}

// listMounts prints the service's mounts, one a line.
func (a *App) listMounts(asJSON bool) error {
	rec, err := a.storeRecord()
	if err != nil {
		return err
	}
	ms := rec.Mounts(a.Service)
	prefixes := make([]string, 0, len(ms))
	for p := range ms {
		prefixes = append(prefixes, p)
	}
	sort.Strings(prefixes)
	if asJSON {
		type mountJSON struct {
			Prefix string `json:"prefix"`
			Kind   string `json:"kind"`
			Dir    string `json:"dir,omitempty"`
			Region string `json:"region,omitempty"`
			URL    string `json:"url,omitempty"`
			TTL    int    `json:"ttl,omitempty"`
		}
		out := make([]mountJSON, len(prefixes))
		for i, p := range prefixes {
			t := ms[p]
			out[i] = mountJSON{Prefix: p + "/", Kind: t.Kind, Dir: t.Dir, Region: t.Region, URL: t.URL, TTL: t.TTL}
		}
		return writeJSON(a.IO.Out, out)
	}
	if len(prefixes) == 0 {
		fmt.Fprintf(a.IO.ErrOut, "kr: nothing is mounted for service %s; every name lives in its store\n", a.Service)
	}
	for _, p := range prefixes {
		fmt.Fprintf(a.IO.Out, "%s/\t%s\n", p, ms[p])
	}
	return nil
}

// mount binds prefix to the vault in dir, after checkMount.
func (a *App) mount(ctx context.Context, prefix, dir string) error {
	prefix, err := a.checkMount(ctx, prefix, dir)
	if err != nil {
		return err
	}
	// Keyed as kr's records key directories: a symlinked path and its
	// target are one mount.
	abs, err := config.ResolveDir(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "vault.json")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return withHint(fmt.Errorf("%w in %s; nothing was mounted", filevault.ErrNoVault, abs),
				"'kr vault init %s --mount %s' creates a shared vault there and mounts it; 'kr --vault %s init' a personal one", dir, prefix, dir)
		}
		return fmt.Errorf("mount %s: %w", abs, err)
	}
	target := config.MountTarget{Kind: config.MountFile, Dir: abs}
	err = a.updateRecord(func(rec *config.Stores) error {
		// Checked again under the record's lock: another kr may have
		// mounted meanwhile.
		if err := mountClash(rec.Mounts(a.Service), prefix, abs); err != nil {
			return err
		}
		return rec.Mount(a.Service, prefix, target)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: mounted %s at %s/: names under %s/ now live there\n", target, prefix, prefix)
	return nil
}

// checkMount returns prefix as recorded (no trailing slash) once it is a
// valid name that overlaps no mount of the service and under which the
// service's store holds no names. dir, when given, must not be mounted
// already.
func (a *App) checkMount(ctx context.Context, prefix, dir string) (string, error) {
	prefix = strings.TrimSuffix(prefix, "/")
	if err := backends.ValidateMountPrefix(prefix); err != nil {
		return "", usagef("%v", err)
	}
	rec, err := a.storeRecord()
	if err != nil {
		return "", err
	}
	abs := ""
	if dir != "" {
		if abs, err = config.ResolveDir(dir); err != nil {
			return "", err
		}
	}
	if err := mountClash(rec.Mounts(a.Service), prefix, abs); err != nil {
		return "", err
	}
	b, err := a.Backend(ctx)
	if err != nil {
		return "", fmt.Errorf("look for names under %s/ in the service's store: %w", prefix, err)
	}
	held, err := b.List(ctx, prefix+"/")
	if err != nil {
		return "", fmt.Errorf("look for names under %s/: %w", prefix, err)
	}
	if len(held) > 0 {
		what := held[0]
		if len(held) > 1 {
			what = fmt.Sprintf("%s and %d more", held[0], len(held)-1)
		}
		return "", withHint(fmt.Errorf("the service's store (%s) already holds %s under %s/; a mount there would hide them, so nothing was mounted",
			b.Name(), what, prefix),
			"mount at another prefix and move them with 'kr mv %s OTHER/...', or move them out of %s/ first", held[0], prefix)
	}
	return prefix, nil
}

// mountClash refuses a prefix that overlaps a mount, or a directory that is
// mounted already.
func mountClash(ms map[string]config.MountTarget, prefix, dir string) error {
	for p, t := range ms {
		if backends.MountsOverlap(p, prefix) {
			return withHint(fmt.Errorf("%s/ overlaps the mount %s/ (%s); nothing was mounted", prefix, p, t),
				"choose a prefix outside %s/, or 'kr unmount %s' first", p, p)
		}
		if dir != "" && t.Kind == config.MountFile && sameDir(t.Dir, dir) {
			return withHint(fmt.Errorf("%s is mounted at %s/ already; nothing was mounted", dir, p), "'kr unmount %s' first to move it", p)
		}
	}
	return nil
}
