package secretservice

import (
	"context"
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// readCollection returns the collection Set writes to, "" when the service
// has none yet.
func (b *Backend) readCollection(ctx context.Context) (dbus.ObjectPath, error) {
	b.mu.RLock()
	coll := b.collection
	b.mu.RUnlock()
	if coll != "" {
		return coll, nil
	}
	coll, err := b.findCollection(ctx)
	if err != nil || coll == "" {
		return "", err
	}
	b.mu.Lock()
	b.collection = coll
	b.mu.Unlock()
	return coll, nil
}

// writeCollection returns the collection Set writes to, creating the
// default one when the service has none.
func (b *Backend) writeCollection(ctx context.Context) (dbus.ObjectPath, error) {
	coll, err := b.readCollection(ctx)
	if err != nil || coll != "" {
		return coll, err
	}
	if coll, err = b.createDefaultCollection(ctx); err != nil {
		return "", err
	}
	b.mu.Lock()
	b.collection = coll
	b.mu.Unlock()
	return coll, nil
}

func (b *Backend) forgetCollection(coll dbus.ObjectPath) {
	b.mu.Lock()
	if b.collection == coll {
		b.collection = ""
	}
	b.mu.Unlock()
}

// findCollection resolves the "default" alias, then the conventional login
// collection; "" when neither exists.
func (b *Backend) findCollection(ctx context.Context) (dbus.ObjectPath, error) {
	var coll dbus.ObjectPath
	// A service without aliases (UnknownMethod) still has a login collection.
	if err := b.call(ctx, servicePath, ifaceService+".ReadAlias", "default").Store(&coll); err != nil && !isGone(err) {
		return "", classify("read the default alias", err)
	}
	if coll != noObject && coll != "" {
		return coll, nil
	}
	var v dbus.Variant
	err := b.call(ctx, loginCollection, ifaceProperties+".Get", ifaceCollection, "Label").Store(&v)
	switch {
	case err == nil:
		return loginCollection, nil
	case isGone(err) || dbusErrorName(err) == errInvalidArgs:
		return "", nil
	}
	return "", classify("look for the login collection", err)
}

func (b *Backend) createDefaultCollection(ctx context.Context) (dbus.ObjectPath, error) {
	props := map[string]dbus.Variant{ifaceCollection + ".Label": dbus.MakeVariant("Default keyring")}
	var coll, prompt dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".CreateCollection", props, "default").Store(&coll, &prompt); err != nil {
		return "", classify("create the default collection", err)
	}
	if prompt != noObject {
		result, err := b.prompt(ctx, prompt)
		if errors.Is(err, backends.ErrCanceled) {
			return "", &NoCollectionError{Err: err}
		}
		if err != nil {
			return "", fmt.Errorf("create the default collection: %w", err)
		}
		coll, _ = result.Value().(dbus.ObjectPath)
	}
	if coll == "" || coll == noObject {
		return "", errors.New("create the default collection: service returned no collection")
	}
	return coll, nil
}

// collectionLocked reports whether kr's collection says it is locked, asked
// after ctx may have ended (a short cleanup deadline of its own).
func (b *Backend) collectionLocked(ctx context.Context) bool {
	cctx, cancel := b.cleanupContext(ctx)
	defer cancel()
	coll, err := b.readCollection(cctx)
	if err != nil || coll == "" {
		return false
	}
	var v dbus.Variant
	if err := b.call(cctx, coll, ifaceProperties+".Get", ifaceCollection, "Locked").Store(&v); err != nil {
		return false
	}
	locked, _ := v.Value().(bool)
	return locked
}

// unlockCollection unlocks coll if its Locked property says so, which may
// prompt, and reports whether it had to. "" (no collection) is not locked.
func (b *Backend) unlockCollection(ctx context.Context, coll dbus.ObjectPath) (bool, error) {
	if coll == "" {
		return false, nil
	}
	var v dbus.Variant
	err := b.call(ctx, coll, ifaceProperties+".Get", ifaceCollection, "Locked").Store(&v)
	if isGone(err) {
		b.forgetCollection(coll)
		return false, nil
	}
	if err != nil {
		return false, classify("read whether the collection is locked", err)
	}
	if locked, _ := v.Value().(bool); !locked {
		return false, nil
	}
	if _, err := b.unlock(ctx, []dbus.ObjectPath{coll}); err != nil {
		return false, err
	}
	return true, nil
}

// unlock unlocks objects, prompting if the service asks to, and returns
// those now unlocked. None unlocked is ErrLocked.
func (b *Backend) unlock(ctx context.Context, objects []dbus.ObjectPath) ([]dbus.ObjectPath, error) {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".Unlock", objects).Store(&unlocked, &prompt); err != nil {
		return nil, classify("unlock", err)
	}
	if prompt != noObject {
		result, err := b.prompt(ctx, prompt)
		if err != nil {
			return nil, fmt.Errorf("unlock: %w", err)
		}
		more, _ := result.Value().([]dbus.ObjectPath)
		unlocked = append(unlocked, more...)
	}
	if len(unlocked) == 0 {
		return nil, fmt.Errorf("unlock: the service unlocked nothing: %w", backends.ErrLocked)
	}
	return unlocked, nil
}

// NoCollectionError is a service with neither a default nor a login
// collection whose prompt to create one ended unanswered. On a machine with
// no display (a headless gnome-keyring started without --unlock) the
// prompter cannot even show it, so "dismissed" alone would blame a user
// who never saw a dialog. It is still ErrCanceled (exit 4).
type NoCollectionError struct{ Err error }

func (e *NoCollectionError) Error() string {
	return "the Secret Service has no default or login keyring, and its prompt to create one was dismissed or could not be shown"
}
func (e *NoCollectionError) Unwrap() error { return e.Err }
func (e *NoCollectionError) Hint() string {
	return "on a machine with no display, 'kr backend file' keeps secrets in an age file vault; or start the keyring with a login one (printf PASSWORD | gnome-keyring-daemon --unlock)"
}
