package cli

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/config"
	"github.com/kr-keyring/kr/internal/envref"
)

// Shell completion runs on every Tab press, often in a shell that cannot
// show a prompt, so it takes names only from where they can be read
// silently: the file vault's file names (no passphrase), the Secret
// Service items that are unlocked already, Credential Manager's list. It
// never asks for a passphrase, never dials or starts the agent, never
// decrypts or unlocks, and gives up after completeTimeout. The Keychain is
// left out: listing it can bring up an unlock dialog.

// completeTimeout bounds a completion: a Tab that hangs is worse than one
// that offers nothing.
const completeTimeout = backends.ProbeTimeout

// completeNames completes up to limit positional arguments (0: any number)
// as secret names, a path segment at a time; names already on the command
// line are not offered again.
func (a *App) completeNames(limit int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if limit > 0 && len(args) >= limit {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names, _ := a.storeNames(cmd, toComplete, false)
		return offerNames(names, "", toComplete, args)
	}
}

// completeAssignment completes the NAME of -e VAR=NAME; the VAR part is
// the user's to type.
func (a *App) completeAssignment(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	variable, typed, ok := strings.Cut(toComplete, "=")
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names, _ := a.storeNames(cmd, typed, false)
	return offerNames(names, variable+"=", typed, nil)
}

// completeCached completes the comma-separated names of unlock --cache,
// which takes OS-store items only.
func (a *App) completeCached(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	i := strings.LastIndexByte(toComplete, ',') + 1
	lead, typed := toComplete[:i], toComplete[i:]
	names, store := a.storeNames(cmd, typed, true)
	if !isOSStore(store) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return offerNames(names, lead, typed, strings.Split(lead, ","))
}

// completeWords completes a flag's fixed values.
func completeWords(words []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, w := range words {
			if strings.HasPrefix(w, toComplete) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func completeBackends() cobra.CompletionFunc { return completeWords(knownStores()) }
func completeFormats() cobra.CompletionFunc  { return completeWords(envref.Formats) }

// registerCompletion attaches fn to cmd's flag; a flag that is not there
// is a mistake in kr, which every completion test would hit.
func registerCompletion(cmd *cobra.Command, flag string, fn cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(flag, fn); err != nil {
		panic(err)
	}
}

// offerNames turns the names that start with typed into completions of
// the next path segment: db/ offers db/prod and db/replica/, not every
// name under db/replica/. lead is put back in front of each (VAR=). A
// folder gets no space after it, so the next Tab goes on inside.
func offerNames(names []string, lead, typed string, exclude []string) ([]cobra.Completion, cobra.ShellCompDirective) {
	directive := cobra.ShellCompDirectiveNoFileComp
	var out []cobra.Completion
	for _, n := range names {
		if !strings.HasPrefix(n, typed) || slices.Contains(exclude, n) {
			continue
		}
		if i := strings.IndexByte(n[len(typed):], '/'); i >= 0 {
			n = n[:len(typed)+i+1]
			directive |= cobra.ShellCompDirectiveNoSpace
		}
		if c := lead + n; !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, directive
}

// storeNames lists the names starting with prefix in the namespace the
// command would use: the mounts and the store (--backend, KR_BACKEND, the
// recorded store, else what auto would choose), or with defaultOnly that
// store alone; and that store's name. Any failure offers nothing: a
// completion has nowhere to report it.
func (a *App) storeNames(cmd *cobra.Command, prefix string, defaultOnly bool) (names []string, store string) {
	// Cobra's __complete runs no hooks of the command being completed:
	// apply the environment to the flags it parsed as the command would.
	if err := a.applyEnvDefaults(cmd); err != nil {
		return nil, ""
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	mounts, err := a.mounts(func(t config.MountTarget) func(context.Context) (backends.Backend, error) {
		return func(context.Context) (backends.Backend, error) {
			m, ok := mountEntry(t.Kind)
			if !ok {
				return namesOnly{name: t.Kind}, nil
			}
			return m.OpenForNames(a, t)
		}
	})
	if err != nil {
		return nil, ""
	}
	ns := backends.NewNamespace(a.nameStore, mounts)
	defer ns.Close()
	names, err = ns.List(ctx, prefix)
	if b := ns.Opened(""); b != nil {
		store = b.Name()
	}
	if err != nil {
		return nil, store
	}
	if defaultOnly {
		names = slices.DeleteFunc(names, func(n string) bool {
			_, _, mounted := ns.Route(n)
			return mounted
		})
	}
	return names, store
}

// nameStore selects the store as Backend does, but opens each candidate
// for listing only.
func (a *App) nameStore(ctx context.Context) (backends.Backend, error) {
	recorded := ""
	if !a.explicitBackend() {
		var err error
		if recorded, err = a.recordedStore(); err != nil {
			return nil, err
		}
	}
	native, fallback := a.storesOpenedBy(func(e storeEntry) func(context.Context, *App) (backends.Backend, error) { return e.OpenForNames })
	ch, err := backends.Select(ctx, a.BackendName, recorded, native, fallback)
	if err != nil {
		return nil, err
	}
	return ch.Backend, nil
}

// errNamesOnly: a store opened for completion is only ever listed.
var errNamesOnly = errors.New("opened for listing names only")

// namesOnly is a store reduced to listing names, so that store selection
// can be shared with Backend; a nil list lists nothing.
type namesOnly struct {
	name  string
	list  func(ctx context.Context, prefix string) ([]string, error)
	close func() error
}

func (s namesOnly) Name() string                                { return s.name }
func (s namesOnly) Get(context.Context, string) ([]byte, error) { return nil, errNamesOnly }
func (s namesOnly) Set(context.Context, string, []byte) error   { return errNamesOnly }
func (s namesOnly) Delete(context.Context, string) error        { return errNamesOnly }
func (s namesOnly) List(ctx context.Context, prefix string) ([]string, error) {
	if s.list == nil {
		return nil, nil
	}
	return s.list(ctx, prefix)
}

func (s namesOnly) Close() error {
	if s.close == nil {
		return nil
	}
	return s.close()
}
