package cli

// This file keeps the values of OS-store items that `kr unlock --cache` put
// in the agent.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/ipc"
)

// cacheKey names an OS-store value in the agent's cache: the store really
// used (never how it was spelled: auto and secretservice are one store), the
// service and the name. "" means the store is not known yet: no cache.
func (a *App) cacheKey(name string) string {
	if m, mounted := a.mountOf(name); mounted {
		if m.Remote && a.remoteTTL(m) > 0 {
			// A cloud store's value, kept for the mount's TTL: keyed by
			// where it came from, so a remount elsewhere misses.
			return "remote\x00" + a.Service + "\x00" + m.Label + "\x00" + name
		}
		return "" // a mounted vault: unlocked as a whole, never cached by value
	}
	store := a.storeName()
	if !isOSStore(store) {
		return ""
	}
	return store + "\x00" + a.Service + "\x00" + name
}

// cachedValue asks a running agent for a value cached by
// `kr unlock --cache`; ok is false when there is none (or no agent). It
// asks only while the cache marker says something may be cached: reads
// of an OS store with no agent, or with one that holds only vaults, cost
// one lstat. Whatever the marker says, the value comes from the agent or
// from the store, never from the marker: a marker that is missing or
// wrong costs a read of the store or one dial, never a stale value.
// A read the agent refused (the user did not allow the program) is an
// error: reading the store instead would step around the refusal.
func (a *App) cachedValue(ctx context.Context, name string) (v []byte, ok bool, err error) {
	key := a.cacheKey(name)
	if a.agentDisabled() || key == "" || !a.mayHaveCached() {
		return nil, false, nil
	}
	c, _, err := a.agentConn(ctx)
	if err != nil {
		return nil, false, nil
	}
	v, err = c.WithContext(ctx).CacheGet(key)
	if errors.Is(err, agent.ErrDenied) {
		return nil, false, fmt.Errorf("get %s: %w", name, err)
	}
	var ce *agent.ConnError
	if errors.As(err, &ce) {
		a.dropAgentConn()
	}
	// An older kr's agent is stopped; a newer one's is left: either way
	// the value is read from the store.
	a.staleAgent(ctx, err)
	return v, err == nil, nil
}

// cacheMarker is the file beside the agent socket, in the directory
// ipc checks is ours alone, whose modification time is when the last value
// `kr unlock --cache` gave the agent expires. "" where there is no such
// directory (Windows' named pipes): there every read asks the agent.
func (a *App) cacheMarker() string {
	if runtime.GOOS == "windows" {
		return ""
	}
	path, err := a.agentPath()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(path), "cached-until")
}

// mayHaveCached reports whether the agent may hold a cached value: the
// marker exists and has not expired.
func (a *App) mayHaveCached() bool {
	m := a.cacheMarker()
	if m == "" {
		return true
	}
	fi, err := os.Lstat(m)
	return err == nil && fi.Mode().IsRegular() && time.Now().Before(fi.ModTime())
}

// markCached moves the cache marker's expiry to until, unless it is later
// already.
func (a *App) markCached(until time.Time) error {
	m := a.cacheMarker()
	if m == "" {
		return nil
	}
	if fi, err := os.Lstat(m); err == nil && fi.Mode().IsRegular() && fi.ModTime().After(until) {
		return nil
	}
	dir := filepath.Dir(m)
	if err := ipc.EnsureDir(dir); err != nil {
		return err
	}
	// Dated before it is renamed into place: never a marker of the
	// wrong age. Nothing is synced: the marker means nothing after a
	// reboot, and losing it costs only a read of the store.
	f, err := os.CreateTemp(dir, atomicfile.TempPrefix+"cached-*")
	if err == nil {
		tmp := f.Name()
		err = f.Close()
		if err == nil {
			err = os.Chtimes(tmp, until, until)
		}
		if err == nil {
			err = os.Rename(tmp, m)
		}
		if err != nil {
			os.Remove(tmp)
		}
	}
	if err != nil {
		return fmt.Errorf("write the agent's cache marker: %w", err)
	}
	return nil
}

// unmarkCached removes the cache marker once the agent has dropped its
// cache (kr lock, kr agent stop, the agent's exit).
func (a *App) unmarkCached() {
	if m := a.cacheMarker(); m != "" {
		os.Remove(m)
	}
}

// dropCached forgets name in a running agent's cache after kr changed it.
// Unlike a read, it does not trust the cache marker: a marker removed by
// hand, or made to look expired by a step of the wall clock (the agent
// also counts monotonic time), would keep the old value in the agent, to
// be served once a later `kr unlock --cache` renewed the marker.
func (a *App) dropCached(ctx context.Context, name string) {
	key := a.cacheKey(name)
	if a.agentDisabled() || key == "" {
		return
	}
	for {
		c, fresh, err := a.agentConn(ctx)
		if errors.Is(err, ipc.ErrNoAgent) {
			return // no agent: nothing cached
		}
		if err == nil {
			err = c.CacheDrop(key)
		}
		var stopped bool
		if stopped, err = a.staleAgent(ctx, err); stopped {
			return // an older kr's agent, stopped with its cache
		}
		var ce *agent.ConnError
		if errors.As(err, &ce) {
			a.dropAgentConn()
			if !fresh {
				continue // a kept connection the agent closed: once more, dialled afresh
			}
		}
		if err != nil {
			// The store has the new value; the agent may still hold the old.
			fmt.Fprintf(a.IO.ErrOut, "kr: warning: the agent may still serve an old value of %s (%v); run 'kr lock' to forget it\n", name, err)
		}
		return
	}
}

// cacheValues reads names from the OS store and hands them to the agent.
func (a *App) cacheValues(ctx context.Context, names []string, ttl time.Duration) error {
	b, err := a.Backend(ctx)
	if err != nil {
		return err
	}
	if !isOSStore(b.Name()) {
		return usagef("--cache is for OS-store items; %s is unlocked as a whole", storeLabel(b.Name()))
	}
	for _, n := range names {
		if m, mounted := a.mountOf(n); mounted {
			return usagef("--cache is for OS-store items; %s is in %s (mounted at %s/), which 'kr unlock' unlocks as a whole", n, m.Label, m.Prefix)
		}
	}
	c, err := a.ensureAgent(ctx)
	if err != nil {
		return err
	}
	a.keepAgentConn(c)
	for _, n := range names {
		v, err := b.Get(ctx, n)
		if err != nil {
			return a.getError(ctx, n, err)
		}
		err = c.CachePut(a.cacheKey(n), v, ttl)
		clear(v)
		if err != nil {
			return err
		}
	}
	// Taken after the agent set its expiries, so that the marker outlives
	// them: reads ask the agent for as long as it may hold a value.
	return a.markCached(time.Now().Add(ttl + time.Second))
}
