package backends

import (
	"context"
	"time"
)

// Info is what a store knows about a secret without reading its value.
type Info struct {
	Name string
	// Modified is when the value was last written; zero when the store
	// does not say.
	Modified time.Time
	// Writer names the tool that wrote it, as far as the item shows:
	// "kr", "secret-tool", "python-keyring", "go-keyring"; "" when unknown.
	Writer string
}

// Lister is a store that can describe its secrets without unlocking,
// prompting or reading any value. It may leave out names it cannot see
// (items of a locked collection a service hides): ListInfo below takes the
// names from List and only the details from here.
type Lister interface {
	ListInfo(ctx context.Context, prefix string) ([]Info, error)
}

// ListInfo returns the names b.List returns under prefix, in its order, each with
// what b's Lister knows of it; a store that is no Lister, or that does not
// describe a name, gives that name with empty details.
func ListInfo(ctx context.Context, b Backend, prefix string) ([]Info, error) {
	names, err := b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(names))
	for i, n := range names {
		out[i] = Info{Name: n}
	}
	l, ok := Unwrap(b).(Lister)
	if !ok || len(names) == 0 {
		return out, nil
	}
	infos, err := l.ListInfo(ctx, prefix)
	if err != nil {
		return nil, err
	}
	known := make(map[string]Info, len(infos))
	for _, in := range infos {
		known[in.Name] = in
	}
	for i := range out {
		if in, ok := known[out[i].Name]; ok {
			out[i] = in
		}
	}
	return out, nil
}
