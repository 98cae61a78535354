package backends

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// A Mount binds every name under Prefix+"/" to a store of its own: the
// name team/db/prod under the mount team is db/prod in that store. Open is
// called once, the first time a name routes there.
type Mount struct {
	Prefix string // a valid name, without a trailing slash
	Label  string // how people call the store: "the vault at /home/u/team"
	Open   func(ctx context.Context) (Backend, error)
	// Remote marks a store reached over the network: its names are
	// listed only when the prefix listed lies inside the mount, so that
	// a plain `kr ls` or a completion never waits on a network.
	Remote bool
}

// ValidateMountPrefix checks a mount's prefix: a valid name, so that every
// name under it is one too.
func ValidateMountPrefix(prefix string) error {
	if err := ValidateName(prefix); err != nil {
		return fmt.Errorf("mount prefix: %w", err)
	}
	return nil
}

// MountsOverlap reports whether names under a and under b could meet: one
// prefix is the other, or a folder of it.
func MountsOverlap(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// Namespace is kr's one namespace over several homes: a name under a
// mount's prefix belongs to that mount's store, always; every other name
// to the default store. Nothing falls back from one home to another. Homes
// are opened on first use, so a command whose names all route to a mount
// never opens the default store.
type Namespace struct {
	openDefault func(ctx context.Context) (Backend, error)
	mounts      []Mount

	mu     sync.Mutex
	opened map[string]Backend // by prefix; "" is the default store
}

// NewNamespace returns the namespace over the default store and mounts,
// which must not overlap (the mount table refuses that when it is written).
func NewNamespace(openDefault func(ctx context.Context) (Backend, error), mounts []Mount) *Namespace {
	ms := append([]Mount(nil), mounts...)
	sort.Slice(ms, func(i, j int) bool { return ms[i].Prefix < ms[j].Prefix })
	return &Namespace{openDefault: openDefault, mounts: ms, opened: map[string]Backend{}}
}

var (
	_ Backend = (*Namespace)(nil)
	_ Peeker  = (*Namespace)(nil)
	_ Lister  = (*Namespace)(nil)
)

// Name is "namespace": the homes have names of their own (Home).
func (n *Namespace) Name() string { return "namespace" }

// Route returns the mount name belongs to and its name there; ok is false
// for a name of the default store.
func (n *Namespace) Route(name string) (m Mount, inner string, ok bool) {
	for _, m := range n.mounts {
		if strings.HasPrefix(name, m.Prefix+"/") {
			return m, name[len(m.Prefix)+1:], true
		}
	}
	return Mount{}, name, false
}

// Mounts lists the mounts, by prefix.
func (n *Namespace) Mounts() []Mount { return append([]Mount(nil), n.mounts...) }

// Home opens the store name belongs to and returns it with name's name
// there.
func (n *Namespace) Home(ctx context.Context, name string) (b Backend, inner string, err error) {
	m, inner, ok := n.Route(name)
	if !ok {
		b, err = n.open(ctx, "", n.openDefault)
		return b, name, err
	}
	b, err = n.open(ctx, m.Prefix, m.Open)
	if err != nil {
		return nil, "", &MountError{Mount: m, Err: err}
	}
	return b, inner, nil
}

func (n *Namespace) open(ctx context.Context, key string, open func(context.Context) (Backend, error)) (Backend, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if b, ok := n.opened[key]; ok {
		return b, nil
	}
	b, err := open(ctx)
	if err != nil {
		return nil, err
	}
	b = Checked(b)
	n.opened[key] = b
	return b, nil
}

// MountError is a failure in a mounted store: it names the mount, since the
// store itself knows names without their prefix.
type MountError struct {
	Mount Mount
	Err   error
}

func (e *MountError) Error() string {
	return fmt.Sprintf("%s/ (%s): %v", e.Mount.Prefix, e.Mount.Label, e.Err)
}
func (e *MountError) Unwrap() error { return e.Err }

func (n *Namespace) wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	var me *MountError
	if m, _, ok := n.Route(name); ok && !errors.As(err, &me) {
		return &MountError{Mount: m, Err: err}
	}
	return err
}

func (n *Namespace) Get(ctx context.Context, name string) ([]byte, error) {
	b, inner, err := n.Home(ctx, name)
	if err != nil {
		return nil, err
	}
	v, err := b.Get(ctx, inner)
	return v, n.wrap(name, err)
}

func (n *Namespace) Set(ctx context.Context, name string, value []byte) error {
	b, inner, err := n.Home(ctx, name)
	if err != nil {
		return err
	}
	return n.wrap(name, b.Set(ctx, inner, value))
}

func (n *Namespace) Delete(ctx context.Context, name string) error {
	b, inner, err := n.Home(ctx, name)
	if err != nil {
		return err
	}
	return n.wrap(name, b.Delete(ctx, inner))
}

// Has looks without decrypting where the home can (Peeker), else reads.
func (n *Namespace) Has(ctx context.Context, name string) (bool, error) {
	b, inner, err := n.Home(ctx, name)
	if err != nil {
		return false, err
	}
	if p, ok := b.(Peeker); ok {
		found, err := p.Has(ctx, inner)
		return found, n.wrap(name, err)
	}
	v, err := b.Get(ctx, inner)
	clear(v)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, n.wrap(name, err)
}

// listing is one home's part of a List: the prefix to ask it for, and
// what to put before the names it gives.
type listing struct {
	mount  *Mount // nil: the default store
	prefix string
	lead   string
}

// plan says which homes hold names starting with prefix.
func (n *Namespace) plan(prefix string) []listing {
	var out []listing
	inMount := false
	for i := range n.mounts {
		m := &n.mounts[i]
		switch p := m.Prefix + "/"; {
		case strings.HasPrefix(prefix, p):
			out = append(out, listing{mount: m, prefix: prefix[len(p):], lead: p})
			inMount = true
		case strings.HasPrefix(p, prefix) && !m.Remote:
			out = append(out, listing{mount: m, lead: p})
		}
	}
	if !inMount {
		out = append([]listing{{prefix: prefix}}, out...)
	}
	return out
}

// List lists every home that can hold names starting with prefix, with
// mounted names under their prefix. Names the default store holds under a
// mounted prefix are left out: they belong to no home kr reads.
func (n *Namespace) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	err := n.each(ctx, prefix, func(b Backend, l listing) error {
		names, err := b.List(ctx, l.prefix)
		if err != nil {
			return err
		}
		if out == nil && len(names) > 0 {
			out = make([]string, 0, len(names))
		}
		for _, name := range names {
			if full := l.lead + name; l.mount != nil || !n.shadowed(full) {
				out = append(out, full)
			}
		}
		return nil
	})
	// One home's names come sorted; only several need sorting together.
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out, err
}

// ListInfo is List with what each home knows of each name (Lister).
func (n *Namespace) ListInfo(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	err := n.each(ctx, prefix, func(b Backend, l listing) error {
		infos, err := ListInfo(ctx, b, l.prefix)
		if err != nil {
			return err
		}
		for _, in := range infos {
			in.Name = l.lead + in.Name
			if l.mount != nil || !n.shadowed(in.Name) {
				out = append(out, in)
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// each opens every home prefix can reach, in the order of plan, and calls
// f; a mounted home's errors name the mount.
func (n *Namespace) each(ctx context.Context, prefix string, f func(Backend, listing) error) error {
	for _, l := range n.plan(prefix) {
		var b Backend
		var err error
		if l.mount == nil {
			b, err = n.open(ctx, "", n.openDefault)
		} else {
			b, err = n.open(ctx, l.mount.Prefix, l.mount.Open)
		}
		if err == nil {
			err = f(b, l)
		}
		if err != nil {
			if l.mount != nil {
				var me *MountError
				if !errors.As(err, &me) {
					err = &MountError{Mount: *l.mount, Err: err}
				}
			}
			return err
		}
	}
	return nil
}

// shadowed reports whether a default-store name lies under a mount.
func (n *Namespace) shadowed(name string) bool {
	_, _, ok := n.Route(name)
	return ok
}

// Batch returns the one home that holds every one of names, with their
// names there, when that home writes many values at once (BatchSetter);
// ok is false when names span homes or the home writes one at a time.
// Across homes no write is all or none, so kr offers none.
func (n *Namespace) Batch(ctx context.Context, names []string) (bs BatchSetter, inner []string, ok bool, err error) {
	if len(names) == 0 {
		return nil, nil, false, nil
	}
	first, _, _ := n.Route(names[0])
	inner = make([]string, len(names))
	for i, name := range names {
		m, in, _ := n.Route(name)
		if m.Prefix != first.Prefix {
			return nil, nil, false, nil
		}
		inner[i] = in
	}
	b, _, err := n.Home(ctx, names[0])
	if err != nil {
		return nil, nil, false, err
	}
	bs, ok = b.(BatchSetter)
	if !ok {
		return nil, nil, false, nil
	}
	return batch{bs, n, names[0]}, inner, true, nil
}

// batch names the mount in a mounted home's errors.
type batch struct {
	bs    BatchSetter
	n     *Namespace
	first string
}

func (b batch) SetMany(ctx context.Context, names []string, values [][]byte) error {
	return b.n.wrap(b.first, b.bs.SetMany(ctx, names, values))
}

// Opened returns the store opened for the mount with prefix, or for the
// default store with "", or nil when it was not opened.
func (n *Namespace) Opened(prefix string) Backend {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opened[prefix]
}

// Close closes the homes it opened that have a Close method.
func (n *Namespace) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, b := range n.opened {
		if c, ok := b.(interface{ Close() error }); ok {
			c.Close()
		}
		delete(n.opened, k)
	}
	return nil
}
