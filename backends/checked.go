package backends

import (
	"context"
	"fmt"
	"sort"
)

// Checked wraps b so that every name and value is validated once, before b
// sees it: invalid names fail with ErrInvalidName and values over
// MaxValueSize with ErrTooBig, and List results are sorted. kr never uses a
// Backend that is not wrapped.
func Checked(b Backend) Backend {
	if c, ok := b.(checked); ok {
		return c
	}
	return checked{b}
}

// Unwrap returns the Backend inside a Checked wrapper, or b itself.
func Unwrap(b Backend) Backend {
	if c, ok := b.(checked); ok {
		return c.b
	}
	return b
}

type checked struct{ b Backend }

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

func (c checked) Set(ctx context.Context, name string, value []byte) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, the limit is %d (1 MiB)", ErrTooBig, len(value), MaxValueSize)
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
	sort.Strings(names)
	return names, nil
}
