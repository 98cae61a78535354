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
// what b's Lister knows of it (see Checked's ListInfo).
func ListInfo(ctx context.Context, b Backend, prefix string) ([]Info, error) {
	return Checked(b).(Lister).ListInfo(ctx, prefix)
}
