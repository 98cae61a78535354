// Package memory is an in-memory Backend for tests: the reference the
// conformance suite is checked against, and a stand-in where a test needs a
// store but not a real one.
package memory

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kr-keyring/kr/backends"
)

// Backend keeps values in a map. The zero value is not usable; call New.
type Backend struct {
	mu     sync.Mutex
	values map[string][]byte
}

var _ backends.Backend = (*Backend)(nil)

// New returns an empty store.
func New() *Backend { return &Backend{values: make(map[string][]byte)} }

func (b *Backend) Name() string { return "memory" }

func (b *Backend) Get(ctx context.Context, name string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.values[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, backends.ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

func (b *Backend) Set(ctx context.Context, name string, value []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.values[name] = append([]byte(nil), value...)
	return nil
}

func (b *Backend) Delete(ctx context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.values[name]; !ok {
		return fmt.Errorf("%s: %w", name, backends.ErrNotFound)
	}
	delete(b.values, name)
	return nil
}

func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for n := range b.values {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}
