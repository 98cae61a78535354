package keychain

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// itemInfo is what the Keychain says about an item besides its data.
type itemInfo struct {
	account  string
	label    string
	modified time.Time // zero when not known
}

// itemDescriber is an itemStore that can describe items without reading
// their data (which may ask the user for access).
type itemDescriber interface {
	describe(service string) ([]itemInfo, error)
}

var _ backends.Lister = (*Backend)(nil)

// ListInfo describes the service's items under prefix: the modification
// date, and kr as the writer where the label is kr's "NAME (kr)". No data
// is read, so no access prompt appears.
func (b *Backend) ListInfo(ctx context.Context, prefix string) ([]backends.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, ok := b.items.(itemDescriber)
	if !ok {
		return nil, nil
	}
	items, err := d.describe(b.service)
	if err != nil {
		return nil, fmt.Errorf("describe items: %w", err)
	}
	seen := map[string]int{}
	var out []backends.Info
	for _, it := range items {
		if !strings.HasPrefix(it.account, prefix) || backends.ValidateName(it.account) != nil {
			continue
		}
		in := backends.Info{Name: it.account, Modified: it.modified}
		if it.label == it.account+" (kr)" {
			in.Writer = "kr"
		}
		// One item per account in a keychain; several keychains may each
		// hold one: the newest speaks for the name.
		if i, dup := seen[in.Name]; dup {
			if in.Modified.After(out[i].Modified) {
				out[i] = in
			}
			continue
		}
		seen[in.Name] = len(out)
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
