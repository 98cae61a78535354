package cli

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/config"
)

// stores lists this system's stores from the registry (registry.go): its
// OS stores, in order, and the file vault, each opened by Open.
func (a *App) stores() (native []backends.Candidate, fallback backends.Candidate) {
	return a.storesOpenedBy(func(e storeEntry) func(context.Context, *App) (backends.Backend, error) { return e.Open })
}

// storesOpenedBy is stores, each opened by the part of its entry open
// picks (Open, or OpenForNames for completion).
func (a *App) storesOpenedBy(open func(storeEntry) func(context.Context, *App) (backends.Backend, error)) (native []backends.Candidate, fallback backends.Candidate) {
	for _, e := range thisOS() {
		c := a.candidate(e, open(e))
		if e.Role == vaultStore {
			fallback = c
		} else {
			native = append(native, c)
		}
	}
	return native, fallback
}

// explicitBackend reports whether --backend or KR_BACKEND named a store.
func (a *App) explicitBackend() bool {
	return a.BackendName != "" && a.BackendName != backends.Auto
}

// storeRecord reads the record of chosen stores and mounts, once a run.
// A change reads it afresh (see updateRecord).
func (a *App) storeRecord() (*config.Stores, error) {
	if a.record != nil {
		return a.record, nil
	}
	rec, err := a.loadRecord()
	if err != nil {
		return nil, err
	}
	a.record = rec
	return rec, nil
}

func (a *App) loadRecord() (*config.Stores, error) {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return nil, err
	}
	rec, err := config.LoadStores(dir)
	if err != nil {
		return nil, withHint(err, "fix or remove the file; 'kr backend NAME' records a store again")
	}
	return rec, nil
}

// updateRecord changes the record under its lock (config.UpdateStores):
// change sees what another kr recorded meanwhile, and may return
// errUnchanged to write nothing.
func (a *App) updateRecord(change func(*config.Stores) error) error {
	dir, err := config.Dir(a.Getenv)
	if err != nil {
		return err
	}
	err = config.UpdateStores(dir, change)
	if errors.Is(err, errUnchanged) {
		return nil
	}
	a.record = nil // read afresh when next asked
	return err
}

// errUnchanged tells updateRecord that there is nothing to write.
var errUnchanged = errors.New("unchanged")

// recordedStore is the store recorded for the service on this OS, or "".
func (a *App) recordedStore() (string, error) {
	rec, err := a.storeRecord()
	if err != nil {
		return "", err
	}
	return rec.Get(a.Service, runtime.GOOS), nil
}

// Backend opens the store for this run, once: the one named by --backend
// or KR_BACKEND, else the one recorded for the service, else the one auto
// chooses now (recorded by the first write, see recordChoice).
func (a *App) Backend(ctx context.Context) (backends.Backend, error) {
	if a.opened != nil {
		return a.opened, nil
	}
	recorded := ""
	if !a.explicitBackend() {
		var err error
		if recorded, err = a.recordedStore(); err != nil {
			return nil, err
		}
	}
	native, fallback := a.stores()
	ch, err := backends.Select(ctx, a.BackendName, recorded, native, fallback)
	if err == nil && a.vaultNamed != "" {
		a.tellNamedVault()
	}
	if ch.Notice != "" {
		fmt.Fprintf(a.IO.ErrOut, "kr: %s (service %s)\n", ch.Notice, a.Service)
	}
	if err != nil {
		return nil, a.storeError(err)
	}
	a.opened, a.choice = ch.Backend, ch
	return ch.Backend, nil
}

// tellNamedVault says, once for each vault and service, that a vault named
// by --vault or KR_VAULT was used although another store is recorded: the
// command did what it was told, and the user learns that other commands
// use the recorded store.
func (a *App) tellNamedVault() {
	recorded, err := a.recordedStore()
	if err != nil || recorded == "" {
		return
	}
	if recorded == backends.File {
		if dir, err := filevault.DefaultDir(); err == nil && sameDir(dir, a.VaultDir) {
			return
		}
	}
	native, fallback := a.stores()
	c, ok := backends.Lookup(recorded, native, fallback)
	if !ok {
		return
	}
	where := c.Label
	if recorded == backends.File {
		where = "the default file vault"
	}
	dir, err := config.ResolveDir(a.VaultDir)
	if err != nil {
		return
	}
	key := "named-vault\x00" + a.Service + "\x00" + dir
	// The record read for this run says whether it was told: no lock, no
	// write on every command that names a vault.
	if rec, err := a.storeRecord(); err != nil || rec.Told(key) {
		return
	}
	told := false
	a.updateRecord(func(rec *config.Stores) error {
		if told = rec.Tell(key); !told {
			return errUnchanged
		}
		return nil
	})
	if told {
		fmt.Fprintf(a.IO.ErrOut, "kr: %s names the file vault %s, used for this command; without it, service %s uses %s (said once)\n",
			a.vaultNamed, a.VaultDir, a.Service, where)
	}
}

// sameDir reports whether two paths name one directory, as kr's records
// key directories (config.ResolveDir).
func sameDir(a, b string) bool {
	ra, err1 := config.ResolveDir(a)
	rb, err2 := config.ResolveDir(b)
	return err1 == nil && err2 == nil && ra == rb
}

// storeError adds the next step to a failure to open the store.
func (a *App) storeError(err error) error {
	var rec *backends.RecordedError
	var present *backends.PresentError
	switch {
	case errors.As(err, &rec) && errors.Is(err, backends.ErrUnavailable):
		return withHint(err, "your secrets of service %s are there: run kr where it is reachable, use --backend file for a separate vault, or 'kr backend file' to switch for good", a.Service)
	case errors.As(err, &present) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, backends.ErrLocked):
		return withHint(err, "kr does not fall back to another store while this one is there; see 'kr doctor', or choose one with --backend")
	}
	return err
}

// recordChoice records the store auto chose once a write to it succeeded,
// so that every later command uses the same one whatever answers then, and
// says so once.
func (a *App) recordChoice() error {
	if !a.choice.New {
		return nil
	}
	a.choice.New = false
	name := a.opened.Name()
	err := a.updateRecord(func(rec *config.Stores) error {
		if rec.Get(a.Service, runtime.GOOS) != "" {
			return errUnchanged // another kr recorded it meanwhile
		}
		rec.Set(a.Service, runtime.GOOS, name)
		return nil
	})
	if err != nil {
		return err
	}
	native, fallback := a.stores()
	c, _ := backends.Lookup(name, native, fallback)
	where := c.Label
	if name == backends.File {
		where += " " + a.VaultDir
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: using %s for service %s from now on (%s); 'kr backend' shows or changes this\n",
		where, a.Service, a.choice.Why)
	return nil
}

// storeName is the store this run uses, as far as known without opening
// one: what was opened, named or recorded; "" when auto has not chosen.
func (a *App) storeName() string {
	switch {
	case a.opened != nil:
		return a.opened.Name()
	case a.explicitBackend():
		return a.BackendName
	}
	name, err := a.recordedStore()
	if err != nil {
		return ""
	}
	return name
}

// elsewhere looks for name in the other store kr knows (the file vault
// when the OS store was used, the OS store when the file vault was) and
// returns a hint when it is there. The look is silent and cheap: no
// unlock, no prompt, at most backends.ProbeTimeout; skipped when a store was named.
func (a *App) elsewhere(ctx context.Context, name string) string {
	if a.explicitBackend() || a.opened == nil {
		return ""
	}
	if _, mounted := a.mountOf(name); mounted {
		return "" // a mounted name has one home
	}
	ctx, cancel := context.WithTimeout(ctx, backends.ProbeTimeout)
	defer cancel()
	used := a.opened.Name()
	native, fallback := a.stores()
	for _, c := range append(native, fallback) {
		if c.Name == used {
			continue
		}
		b, err := c.Open(ctx)
		if err != nil {
			continue
		}
		p, ok := b.(backends.Peeker)
		found := false
		if ok {
			found, _ = p.Has(ctx, name)
		}
		if cl, ok := b.(interface{ Close() error }); ok && isOSStore(c.Name) {
			cl.Close()
		}
		if found {
			return fmt.Sprintf("%s is not in %s but in %s: read it with --backend %s, or 'kr backend %s' to use that store for service %s",
				name, used, c.Name, c.Name, c.Name, a.Service)
		}
	}
	return ""
}
