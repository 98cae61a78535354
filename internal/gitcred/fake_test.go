package gitcred

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/secretservice"
)

// fakeSS is a Secret Service as far as the helper sees one: a search
// matches every item whose attributes include those asked for, as the
// real one does, so an item with a port answers a search without one.
type fakeSS struct {
	mu    sync.Mutex
	n     int
	items map[dbus.ObjectPath]fakeItem
}

type fakeItem struct {
	label string
	attrs map[string]string
	value []byte
	mod   time.Time
}

func newFakeSS() *fakeSS { return &fakeSS{items: map[dbus.ObjectPath]fakeItem{}} }

func (f *fakeSS) add(label string, attrs map[string]string, value []byte) dbus.ObjectPath {
	f.n++
	p := dbus.ObjectPath(fmt.Sprintf("/fake/%04d", f.n))
	f.items[p] = fakeItem{label, maps.Clone(attrs), slices.Clone(value), time.Unix(int64(f.n), 0)}
	return p
}

func (f *fakeSS) SearchSchema(ctx context.Context, attrs map[string]string) ([]secretservice.SchemaItem, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []secretservice.SchemaItem
	for p, it := range f.items {
		ok := true
		for k, v := range attrs {
			if got, has := it.attrs[k]; !has || got != v {
				ok = false
			}
		}
		if ok {
			out = append(out, secretservice.SchemaItem{Path: p, Label: it.label, Attributes: maps.Clone(it.attrs), Modified: it.mod})
		}
	}
	return out, nil
}

func (f *fakeSS) SchemaSecret(ctx context.Context, p dbus.ObjectPath) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[p]
	if !ok {
		return nil, backends.ErrNotFound
	}
	return slices.Clone(it.value), nil
}

func (f *fakeSS) StoreSchema(ctx context.Context, label string, attrs map[string]string, value []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p, it := range f.items {
		if maps.Equal(it.attrs, attrs) {
			delete(f.items, p)
		}
	}
	f.add(label, attrs, value)
	return nil
}

func (f *fakeSS) DeleteSchema(ctx context.Context, p dbus.ObjectPath) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.items[p]; !ok {
		return backends.ErrNotFound
	}
	delete(f.items, p)
	return nil
}
