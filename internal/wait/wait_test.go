package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBoundIsPerWait(t *testing.T) {
	ctx := WithLimit(context.Background(), time.Hour)
	if _, ok := ctx.Deadline(); ok {
		t.Fatal("WithLimit put a deadline on the command's context")
	}
	w, end := Bound(ctx, "x did not answer")
	dl, ok := w.Deadline()
	if !ok || time.Until(dl) < 59*time.Minute {
		t.Fatalf("a wait's deadline = %v, %v; want an hour from now", dl, ok)
	}
	if err := end(nil); err != nil {
		t.Fatal(err)
	}
	if w.Err() == nil {
		t.Fatal("end did not release the wait's context")
	}
	if ctx.Err() != nil {
		t.Fatal("ending a wait ended the command's context")
	}
}

func TestBoundTimeoutNamesWhat(t *testing.T) {
	ctx := WithLimit(context.Background(), time.Nanosecond)
	w, end := Bound(ctx, "the agent did not answer")
	<-w.Done()
	err := end(errors.New("receive: i/o timeout"))
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("end after the limit = %#v, want a *TimeoutError that is DeadlineExceeded", err)
	}
	if !strings.HasPrefix(te.Hint(), "the agent did not answer for 1ns") || err.Error() != "receive: i/o timeout" {
		t.Fatalf("error %q, hint %q", err, te.Hint())
	}
}

func TestBoundKeepsOtherEnds(t *testing.T) {
	// Canceled by the caller (a signal): not a timeout of the wait.
	parent, cancel := context.WithCancel(WithLimit(context.Background(), time.Hour))
	w, end := Bound(parent, "x did not answer")
	cancel()
	<-w.Done()
	if err := end(context.Canceled); !errors.Is(err, context.Canceled) || errors.As(err, new(*TimeoutError)) {
		t.Fatalf("cancel = %v", err)
	}
	// No limit: no deadline added, errors pass through.
	w, end = Bound(context.Background(), "x did not answer")
	if _, ok := w.Deadline(); ok {
		t.Fatal("a deadline without a limit")
	}
	boom := errors.New("boom")
	if err := end(boom); err != boom {
		t.Fatalf("end = %v", err)
	}
}
