// Package wait bounds kr's waits on other programs (the Secret Service over
// D-Bus, the agent, another kr holding a lock) by --timeout, one wait at a
// time, and never kr's own work. A command's context carries the limit
// (WithLimit) but no deadline; each wait takes its own deadline from it
// (Bound). A passphrase run through scrypt, or a vault re-encrypted, takes
// what the machine needs, however busy it is, and a minute spent typing at
// a prompt leaves the next wait its whole limit.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"
)

type limitKey struct{}

// WithLimit returns ctx carrying d as the longest any one wait on another
// program may take. It adds no deadline to ctx itself.
func WithLimit(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, limitKey{}, d)
}

// Limit returns the limit ctx carries, and whether it carries one.
func Limit(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(limitKey{}).(time.Duration)
	return d, ok && d > 0
}

// Bound returns ctx with a deadline for one wait, the limit from now, and
// end, which releases it and returns err, turned into a *TimeoutError when
// this wait's own deadline (not ctx's) ended it. what says, for the hint,
// what kept kr waiting: "the agent did not answer". A ctx without a limit
// gets no deadline: its own, if any, still holds.
func Bound(ctx context.Context, what string) (wctx context.Context, end func(err error) error) {
	d, ok := Limit(ctx)
	if !ok {
		return ctx, func(err error) error { return err }
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	return wctx, func(err error) error {
		timedOut := errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if err != nil && timedOut {
			return &TimeoutError{What: what, Limit: d, Err: err}
		}
		return err
	}
}

// TimeoutError is a wait on another program that lasted the whole limit.
// It is context.DeadlineExceeded for errors.Is, whatever err is (a refused
// lock, a read past a socket deadline), so it exits as a timeout.
type TimeoutError struct {
	What  string // what kept kr waiting: "the Secret Service did not answer"
	Limit time.Duration
	Err   error
}

func (e *TimeoutError) Error() string { return e.Err.Error() }
func (e *TimeoutError) Unwrap() error { return e.Err }

// Is makes a TimeoutError a context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Hint says what kept kr waiting, and for how long.
func (e *TimeoutError) Hint() string {
	return fmt.Sprintf("%s for %v (--timeout); raise it, or KR_TIMEOUT, if that is only slow", e.What, e.Limit)
}
