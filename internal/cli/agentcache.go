package cli

// This file keeps the values of OS-store items that `kr unlock --cache` put
// in the agent.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kr-keyring/kr/agent"
	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/ipc"
)

// cacheKey names an OS-store value in the agent's cache: the store really
// used (never how it was spelled: auto and secretservice are one store), the
// service and the name. "" means the store is not known yet: no cache.
func (a *App) cacheKey(name string) string {
	store := a.storeName()
	if store == "" || store == backends.File {
		return ""
	}
	return store + "\x00" + a.Service + "\x00" + name
}

// cachedValue asks a running agent for a value cached by
// `kr unlock --cache`; ok is false when there is none (or no agent).
func (a *App) cachedValue(ctx context.Context, name string) (v []byte, ok bool) {
	key := a.cacheKey(name)
	if a.agentDisabled() || key == "" {
		return nil, false
	}
	c, _, err := a.agentConn(ctx)
	if err != nil {
		return nil, false
	}
	v, err = c.CacheGet(key)
	var ce *agent.ConnError
	if errors.As(err, &ce) {
		a.dropAgentConn()
	}
	return v, err == nil
}

// dropCached forgets name in a running agent's cache after kr changed it.
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
	if backends.Unwrap(b).Name() == backends.File {
		return usagef("--cache is for OS-store items; the file vault is unlocked as a whole")
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
	return nil
}
