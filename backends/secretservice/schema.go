package secretservice

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// AttrSchema is the attribute libsecret names an item's schema with. Items
// of other tools' schemas (git-credential-libsecret's org.git.Password,
// docker's credential helper) are found and written by it, so that kr and
// those tools share their items.
const AttrSchema = "xdg:schema"

// SchemaItem is an item as SearchSchema finds it, without its secret.
type SchemaItem struct {
	Path       dbus.ObjectPath
	Label      string
	Attributes map[string]string
	// Modified is the zero time when the service does not say.
	Modified time.Time
}

// errNoSchema is a caller's mistake: without xdg:schema a search matches
// every tool's items and a store writes an item no schema-aware client
// reads.
var errNoSchema = errors.New("attributes have no " + AttrSchema)

// SearchSchema returns the items whose attributes include attrs (which must
// name the schema in xdg:schema), newest first, then by greatest object
// path, so the first is the one Get would pick. As in Get, locked matches
// are unlocked (which may prompt), and an empty result is believed only
// once the collection is unlocked: a locked store gives an error wrapping
// backends.ErrLocked, never an empty list. Items may carry more attributes
// than attrs; callers that need an exact match compare Attributes.
func (b *Backend) SearchSchema(ctx context.Context, attrs map[string]string) (_ []SchemaItem, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	if attrs[AttrSchema] == "" {
		return nil, fmt.Errorf("search items: %w", errNoSchema)
	}
	paths, err := b.find(ctx, attrs, false)
	if err != nil {
		return nil, fmt.Errorf("search %s items: %w", attrs[AttrSchema], err)
	}
	items, err := b.describe(ctx, paths)
	if err != nil {
		return nil, fmt.Errorf("search %s items: %w", attrs[AttrSchema], err)
	}
	return items, nil
}

// describe reads the properties of items, sent together and awaited
// together as in List. Items deleted since the search are left out.
func (b *Backend) describe(ctx context.Context, paths []dbus.ObjectPath) ([]SchemaItem, error) {
	calls := make([]*dbus.Call, len(paths))
	for i, p := range paths {
		calls[i] = b.conn.Object(busName, p).GoWithContext(ctx, ifaceProperties+".GetAll", 0, make(chan *dbus.Call, 1), ifaceItem)
	}
	items := make([]SchemaItem, 0, len(paths))
	var firstErr error
	for i, c := range calls {
		<-c.Done
		var props map[string]dbus.Variant
		if err := c.Store(&props); err != nil {
			if isGone(err) {
				continue
			}
			if firstErr == nil {
				firstErr = classify("read item properties", err)
			}
			continue
		}
		it := SchemaItem{Path: paths[i]}
		it.Label, _ = props["Label"].Value().(string)
		it.Attributes, _ = props["Attributes"].Value().(map[string]string)
		if m, _ := props["Modified"].Value().(uint64); m > 0 {
			it.Modified = time.Unix(int64(m), 0)
		}
		items = append(items, it)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortStableFunc(items, func(a, c SchemaItem) int {
		if d := c.Modified.Compare(a.Modified); d != 0 {
			return d
		}
		switch {
		case a.Path > c.Path:
			return -1
		case a.Path < c.Path:
			return 1
		}
		return 0
	})
	return items, nil
}

// SchemaSecret reads the secret of an item SearchSchema returned. An item
// deleted since gives an error wrapping backends.ErrNotFound; a locked one
// is unlocked, which may prompt.
func (b *Backend) SchemaSecret(ctx context.Context, path dbus.ObjectPath) (_ []byte, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	value, err := b.getSecret(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("read item %s: %w", path, err)
	}
	return value, nil
}

// StoreSchema writes value as a new item with label and exactly attrs
// (which must name the schema in xdg:schema) into the default collection,
// reads it back, and only then removes the older items whose attributes
// are exactly attrs: the Secret Service's replace, done so that a value
// the store refuses or rewrites leaves the previous one in place (see
// Set). Items with more attributes than attrs (a more specific one, such
// as a git credential for one path) are kept.
func (b *Backend) StoreSchema(ctx context.Context, label string, attrs map[string]string, value []byte) (err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	schema := attrs[AttrSchema]
	if schema == "" {
		return fmt.Errorf("store item: %w", errNoSchema)
	}
	fail := func(err error) error { return fmt.Errorf("store %s item %q: %w", schema, label, err) }
	attrs = maps.Clone(attrs)
	coll, err := b.writeCollection(ctx)
	if err != nil {
		return fail(err)
	}
	// A locked collection may hide the old items from the search.
	if _, err := b.unlockCollection(ctx, coll); err != nil {
		return fail(err)
	}
	matches, err := b.search(ctx, attrs, false)
	if err != nil {
		return fail(err)
	}
	found, err := b.describe(ctx, matches)
	if err != nil {
		return fail(err)
	}
	var old []dbus.ObjectPath
	for _, it := range found {
		if maps.Equal(it.Attributes, attrs) {
			old = append(old, it.Path)
		}
	}
	item, err := b.createItem(ctx, label, attrs, value)
	if err != nil {
		b.dropNew(ctx, attrs, matches)
		return fail(err)
	}
	if item == "" || item == noObject {
		if item, err = b.findNew(ctx, attrs, matches); err != nil {
			return fail(err)
		}
	}
	if err := b.verify(ctx, item, value, len(old) > 0); err != nil {
		return fail(err)
	}
	for _, other := range old {
		if other == item {
			continue
		}
		if err := b.deleteItem(ctx, other); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return fail(fmt.Errorf("remove older copy %s: %w", other, err))
		}
	}
	return nil
}

// DeleteSchema deletes an item SearchSchema returned. One already gone
// gives an error wrapping backends.ErrNotFound; a locked one is unlocked
// (which may prompt) and deleted.
func (b *Backend) DeleteSchema(ctx context.Context, path dbus.ObjectPath) (err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	err = b.deleteItem(ctx, path)
	if errors.Is(err, backends.ErrLocked) {
		if _, err = b.unlock(ctx, []dbus.ObjectPath{path}); err == nil {
			err = b.deleteItem(ctx, path)
		}
	}
	if err != nil {
		return fmt.Errorf("delete item %s: %w", path, err)
	}
	return nil
}
