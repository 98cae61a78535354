package backends

import (
	"context"
	"fmt"
	"slices"
)

// Unwrapper is a Backend that wraps another: Checked's wrapper, and any
// later layer over a store. As walks it.
type Unwrapper interface {
	Unwrap() Backend
}

// As returns the first Backend in b's chain of wrappers (b itself, then
// what each Unwrapper unwraps to) that is a T: a store's concrete type
// (*secretservice.Backend) or one of its capabilities. ok is false when
// none is. A capability Checked forwards is found on Checked's wrapper, so
// it is used with the wrapper's checks.
func As[T any](b Backend) (t T, ok bool) {
	for b != nil {
		if t, ok := b.(T); ok {
			return t, true
		}
		u, isWrapper := b.(Unwrapper)
		if !isWrapper {
			break
		}
		b = u.Unwrap()
	}
	return t, false
}

// Checked wraps b so that every name and value is validated once, before b
// sees it: invalid names fail with ErrInvalidName and values over
// MaxValueSize with ErrTooBig, and List results are sorted. kr never uses a
// Backend that is not wrapped.
//
// The wrapper has each optional interface b has, and only those, so that
// a type assertion on it tells what b can do: Peeker and BatchSetter when
// b is one (with the same checks), Lister always (a store that describes
// nothing gives names alone), Close always (nothing to close when b has
// no Close). TestCheckedForwards fails when an optional interface is
// declared here and Checked does not forward it.
func Checked(b Backend) Backend {
	if _, ok := b.(interface{ checkedBackend() checked }); ok {
		return b // checked already
	}
	c := checked{b}
	_, peek := b.(Peeker)
	_, batch := b.(BatchSetter)
	switch {
	case peek && batch:
		return checkedPeekBatch{c}
	case peek:
		return checkedPeek{c}
	case batch:
		return checkedBatch{c}
	}
	return c
}

type checked struct{ b Backend }

// The wrappers with more capabilities than checked.
type (
	checkedPeek      struct{ checked }
	checkedBatch     struct{ checked }
	checkedPeekBatch struct{ checked }
)

func (c checked) checkedBackend() checked { return c }

// Unwrap returns the store inside.
func (c checked) Unwrap() Backend { return c.b }

func (c checked) Name() string { return c.b.Name() }

func (c checked) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.b.Get(ctx, name)
}

func checkValue(value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, the limit is %d (1 MiB)", ErrTooBig, len(value), MaxValueSize)
	}
	return nil
}

func (c checked) Set(ctx context.Context, name string, value []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := checkValue(value); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.b.Set(ctx, name, value)
}

func (c checked) Delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.b.Delete(ctx, name)
}

func (c checked) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := c.b.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	// Every store sorts as it should; a check in one pass is cheaper
	// than a second sort of a long list.
	if !slices.IsSorted(names) {
		slices.Sort(names)
	}
	return names, nil
}

// ListInfo returns the names List returns, in its order, each with what
// the store's Lister knows of it; a store that is no Lister, or that does
// not describe a name, gives that name with empty details. The names come
// from List because a Lister may leave out names it cannot see (items of a
// locked collection a service hides) or describe names List does not give.
func (c checked) ListInfo(ctx context.Context, prefix string) ([]Info, error) {
	names, err := c.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(names))
	for i, n := range names {
		out[i] = Info{Name: n}
	}
	l, ok := c.b.(Lister)
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

// Close closes the store when it has a Close method.
func (c checked) Close() error {
	if cl, ok := c.b.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

func (c checked) has(ctx context.Context, name string) (bool, error) {
	if err := ValidateName(name); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return c.b.(Peeker).Has(ctx, name)
}

func (c checked) setMany(ctx context.Context, names []string, values [][]byte) error {
	if len(names) != len(values) {
		return fmt.Errorf("set many: %d names and %d values", len(names), len(values))
	}
	for i, n := range names {
		if err := ValidateName(n); err != nil {
			return err
		}
		if err := checkValue(values[i]); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.b.(BatchSetter).SetMany(ctx, names, values)
}

func (c checkedPeek) Has(ctx context.Context, name string) (bool, error) { return c.has(ctx, name) }
func (c checkedBatch) SetMany(ctx context.Context, names []string, values [][]byte) error {
	return c.setMany(ctx, names, values)
}
func (c checkedPeekBatch) Has(ctx context.Context, name string) (bool, error) {
	return c.has(ctx, name)
}
func (c checkedPeekBatch) SetMany(ctx context.Context, names []string, values [][]byte) error {
	return c.setMany(ctx, names, values)
}
