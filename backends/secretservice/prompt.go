package secretservice

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// cleanupTimeout bounds calls made after the caller's context is already
// done (dismissing a prompt, closing the session), so they cannot hang.
const cleanupTimeout = time.Second

// prompt shows a prompt and waits for its Completed signal under ctx. A
// prompt that cannot be shown, or is not answered before ctx ends, is
// ErrLocked (and is dismissed so no dialog lingers); one the user dismissed
// is ErrCanceled.
func (b *Backend) prompt(ctx context.Context, path dbus.ObjectPath) (dbus.Variant, error) {
	signals := make(chan *dbus.Signal, 4)
	b.conn.Signal(signals)
	defer b.conn.RemoveSignal(signals)
	match := []dbus.MatchOption{
		dbus.WithMatchObjectPath(path),
		dbus.WithMatchInterface(ifacePrompt),
		dbus.WithMatchMember("Completed"),
	}
	// Subscribe before Prompt so a fast Completed is not missed.
	if err := b.conn.AddMatchSignalContext(ctx, match...); err != nil {
		return dbus.Variant{}, b.lockedCtx(ctx, "watch the prompt", err)
	}
	defer func() {
		cctx, cancel := b.cleanupContext(ctx)
		defer cancel()
		_ = b.conn.RemoveMatchSignalContext(cctx, match...)
	}()

	if err := b.call(ctx, path, ifacePrompt+".Prompt", "").Err; err != nil {
		b.dismiss(ctx, path)
		if ctx.Err() != nil {
			return dbus.Variant{}, b.lockedCtx(ctx, "prompt", ctx.Err())
		}
		return dbus.Variant{}, fmt.Errorf("%w: the service cannot show a prompt: %v", backends.ErrLocked, err)
	}
	for {
		select {
		case sig, ok := <-signals:
			if !ok {
				return dbus.Variant{}, fmt.Errorf("%w: bus connection closed while waiting for a prompt", backends.ErrUnavailable)
			}
			if sig.Path != path || sig.Name != ifacePrompt+".Completed" || len(sig.Body) < 2 {
				continue
			}
			if dismissed, _ := sig.Body[0].(bool); dismissed {
				return dbus.Variant{}, fmt.Errorf("prompt: %w", backends.ErrCanceled)
			}
			result, _ := sig.Body[1].(dbus.Variant)
			return result, nil
		case <-ctx.Done():
			b.dismiss(ctx, path)
			return dbus.Variant{}, b.lockedCtx(ctx, "prompt", ctx.Err())
		}
	}
}

func (b *Backend) dismiss(ctx context.Context, path dbus.ObjectPath) {
	cctx, cancel := b.cleanupContext(ctx)
	defer cancel()
	_ = b.call(cctx, path, ifacePrompt+".Dismiss").Err
}

func (b *Backend) cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

func (b *Backend) lockedCtx(ctx context.Context, what string, err error) error {
	if isContextErr(err) || ctx.Err() != nil {
		return fmt.Errorf("%w: %s: not unlocked in time: %w", backends.ErrLocked, what, ctx.Err())
	}
	return classify(what, err)
}
