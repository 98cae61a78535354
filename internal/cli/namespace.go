package cli

// This file maps names to their homes: a name under a mounted prefix lives
// in that mount's store, every other name in the store of the service.

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
)

// secrets returns the store every command that takes a secret's name reads
// and writes through: the namespace over the service's store and the
// mounts. Nothing is opened until a name routes there.
func (a *App) secrets() (backends.Backend, error) {
	ns, err := a.namespace()
	if err != nil {
		return nil, err
	}
	return backends.Checked(ns), nil
}

// namespace builds the run's namespace once.
func (a *App) namespace() (*backends.Namespace, error) {
	if a.names != nil {
		return a.names, nil
	}
	mounts, err := a.mounts(a.openMount)
	if err != nil {
		return nil, err
	}
	a.names = backends.NewNamespace(a.Backend, mounts)
	return a.names, nil
}

// mounts lists the service's mounts, each opened by open.
func (a *App) mounts(open func(config.MountTarget) func(context.Context) (backends.Backend, error)) ([]backends.Mount, error) {
	if _, err := config.Dir(a.Getenv); err != nil {
		return nil, nil // no configuration directory: nothing can be mounted
	}
	rec, err := a.storeRecord()
	if err != nil {
		return nil, err
	}
	var out []backends.Mount
	for prefix, t := range rec.Mounts(a.Service) {
		out = append(out, backends.Mount{Prefix: prefix, Label: t.String(), Open: open(t), Remote: t.Remote()})
	}
	return out, nil
}

// openMount opens a mount's store to read and write, as the registry's
// entry for its kind says.
func (a *App) openMount(t config.MountTarget) func(context.Context) (backends.Backend, error) {
	return func(context.Context) (backends.Backend, error) {
		switch t.Kind {
		case config.MountAWSSecrets, config.MountAWSSSM, config.MountVault:
			return a.openRemote(t, nil)
		}
		m, ok := mountEntry(t.Kind)
		if !ok {
			return nil, fmt.Errorf("mounts of kind %q need a newer kr", t.Kind)
		}
		return m.Open(a, t)
	}
}

// mountOf returns the mount name routes to; ok is false for a name of the
// service's store, and when the mounts cannot be read (the command itself
// then reports why).
func (a *App) mountOf(name string) (m backends.Mount, ok bool) {
	ns, err := a.namespace()
	if err != nil {
		return backends.Mount{}, false
	}
	m, _, ok = ns.Route(name)
	return m, ok
}

// memberVault is the vault `kr vault recipients|scope|sync` and `kr unlock`
// work on: the
// one --vault or KR_VAULT names; else the one vault mounted for the
// service, when there is exactly one (a team's vault is mounted, not
// named on every command); else the default vault.
func (a *App) memberVault() (*filevault.Vault, error) {
	if a.vaultNamed != "" {
		return a.existingVault()
	}
	rec, err := a.storeRecord()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for prefix, t := range rec.Mounts(a.Service) {
		if t.Kind == config.MountFile {
			dirs = append(dirs, prefix+"/ on "+t.Dir)
		}
	}
	switch len(dirs) {
	case 0:
		return a.existingVault()
	case 1:
		for _, t := range rec.Mounts(a.Service) {
			if t.Kind == config.MountFile {
				a.VaultDir = t.Dir
			}
		}
		return a.existingVault()
	}
	sort.Strings(dirs)
	return nil, withHint(usagef("%d vaults are mounted (%s): name one with --vault DIR", len(dirs), strings.Join(dirs, ", ")),
		"'kr mount' lists them")
}
