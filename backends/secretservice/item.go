package secretservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// Item schema: the attributes every Secret Service client in kr's
// neighbourhood (secret-tool, Python keyring, zalando/go-keyring) uses.
const (
	attrService  = "service"
	attrUsername = "username"
	labelSuffix  = " (kr)"
	// text/plain is what secret-tool and libsecret's password API expect
	// (secret_password_lookup returns nothing for other types), so text
	// values are tagged so; binary values say what they are.
	contentText   = "text/plain"
	contentBinary = "application/octet-stream"
)

func (b *Backend) itemAttributes(name string) map[string]string {
	return map[string]string{attrService: b.service, attrUsername: name}
}

// krName is the name an item's attributes give it, if the item is
// service's, the name starts with prefix and kr can address it: items other
// tools wrote under names kr cannot use are left out of every listing.
func krName(attrs map[string]string, service, prefix string) (string, bool) {
	name, ok := attrs[attrUsername]
	if !ok || attrs[attrService] != service || !strings.HasPrefix(name, prefix) || backends.ValidateName(name) != nil {
		return "", false
	}
	return name, true
}

// find is search for Get, List and Delete, which must never take a locked
// collection for an empty one: KeePassXC (with UnlockBeforeSearch off)
// answers a search in a locked database with no items at all, so "not
// found" or an empty list would be wrong. kr's collection is unlocked (which
// may prompt) before an empty result is believed, or, with first, before
// searching at all: a partial list, or a Delete that leaves hidden copies,
// is as wrong as an empty one.
func (b *Backend) find(ctx context.Context, attrs map[string]string, first bool) ([]dbus.ObjectPath, error) {
	if !first {
		items, err := b.search(ctx, attrs, true)
		if isContextErr(err) && b.collectionLocked(ctx) {
			// KeePassXC holds a search of a locked database until someone
			// unlocks it: say locked, not just "no answer".
			return nil, fmt.Errorf("%w: the collection is locked and was not unlocked in time: %w", backends.ErrLocked, err)
		}
		if err != nil || len(items) > 0 {
			return items, err
		}
	}
	coll, err := b.readCollection(ctx)
	if err != nil {
		return nil, err
	}
	unlocked, err := b.unlockCollection(ctx, coll)
	if err != nil {
		return nil, err
	}
	if !first && !unlocked {
		return nil, nil
	}
	return b.search(ctx, attrs, true)
}

// search finds items in every collection. With unlock, locked matches are
// unlocked (which may prompt) when no unlocked match exists; without it
// only unlocked matches are returned.
func (b *Backend) search(ctx context.Context, attrs map[string]string, unlock bool) ([]dbus.ObjectPath, error) {
	var unlocked, locked []dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".SearchItems", attrs).Store(&unlocked, &locked); err != nil {
		return nil, classify("search", err)
	}
	if len(locked) == 0 || !unlock {
		return unlocked, nil
	}
	opened, err := b.unlock(ctx, locked)
	if err != nil {
		return nil, err
	}
	return append(unlocked, opened...), nil
}

// newest picks among several matches the most recently modified item,
// breaking ties by the greatest object path.
func (b *Backend) newest(ctx context.Context, items []dbus.ObjectPath) (dbus.ObjectPath, error) {
	if len(items) == 1 {
		return items[0], nil
	}
	calls := make([]*dbus.Call, len(items))
	for i, item := range items {
		calls[i] = b.conn.Object(busName, item).GoWithContext(ctx, ifaceProperties+".Get", 0, make(chan *dbus.Call, 1), ifaceItem, "Modified")
	}
	var best dbus.ObjectPath
	var bestTime uint64
	for i, c := range calls {
		<-c.Done
		var v dbus.Variant
		if err := c.Store(&v); err != nil {
			return "", classify("read modification time", err)
		}
		t, _ := v.Value().(uint64)
		if best == "" || t > bestTime || (t == bestTime && items[i] > best) {
			best, bestTime = items[i], t
		}
	}
	return best, nil
}

func (b *Backend) getSecret(ctx context.Context, item dbus.ObjectPath) ([]byte, error) {
	for retried := false; ; retried = true {
		session := b.currentSession()
		var s secret
		err := b.call(ctx, item, ifaceItem+".GetSecret", session).Store(&s)
		switch {
		case err == nil:
			return b.decode(s)
		case isGone(err):
			// Deleted between the search and now.
			return nil, backends.ErrNotFound
		case retried || !mendable(err):
			return nil, classify("read secret", err)
		}
		if err := b.mend(ctx, err, session, item); err != nil {
			return nil, err
		}
	}
}

func (b *Backend) createItem(ctx context.Context, label string, attrs map[string]string, value []byte) (dbus.ObjectPath, error) {
	props := map[string]dbus.Variant{
		ifaceItem + ".Label":      dbus.MakeVariant(label),
		ifaceItem + ".Attributes": dbus.MakeVariant(attrs),
	}
	for retried := false; ; retried = true {
		coll, err := b.writeCollection(ctx)
		if err != nil {
			return "", err
		}
		session := b.currentSession()
		s, err := b.encode(session, value)
		if err != nil {
			return "", err
		}
		var item, prompt dbus.ObjectPath
		// replace=false: the old item must outlive the new one's check.
		err = b.call(ctx, coll, ifaceCollection+".CreateItem", props, s, false).Store(&item, &prompt)
		clear(s.Value)
		switch {
		case err == nil && prompt == noObject:
			return item, nil
		case err == nil:
			result, err := b.prompt(ctx, prompt)
			if err != nil {
				return "", err
			}
			p, _ := result.Value().(dbus.ObjectPath)
			return p, nil
		case retried:
			return "", classify("create item", err)
		case isGone(err):
			// The cached collection was deleted: look it up again.
			b.forgetCollection(coll)
		case mendable(err):
			if err := b.mend(ctx, err, session, coll); err != nil {
				return "", err
			}
		default:
			return "", classify("create item", err)
		}
	}
}

// mendable reports whether a call failed for a reason mend repairs.
func mendable(err error) bool {
	switch dbusErrorName(err) {
	case errNoSession, errIsLocked:
		return true
	}
	return false
}

// mend repairs what a call on target in session failed for, so that the
// caller can try it once more: a session the service forgot (it restarted)
// is reopened, a locked target is unlocked, which may prompt. Once: a
// second failure means the repair did not hold, and another would only be
// another prompt.
func (b *Backend) mend(ctx context.Context, err error, session, target dbus.ObjectPath) error {
	if dbusErrorName(err) == errNoSession {
		return b.reopenSession(ctx, session)
	}
	_, err = b.unlock(ctx, []dbus.ObjectPath{target})
	return err
}

func (b *Backend) deleteItem(ctx context.Context, item dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	err := b.call(ctx, item, ifaceItem+".Delete").Store(&prompt)
	switch {
	case err == nil:
	case isGone(err):
		return backends.ErrNotFound
	default:
		return classify("delete item", err)
	}
	if prompt != noObject {
		_, err = b.prompt(ctx, prompt)
	}
	return err
}

// verify reads item back (one GetSecret) and compares it with value. On a
// mismatch, or when it cannot read it, it deletes item so that what was
// there before stays the value.
func (b *Backend) verify(ctx context.Context, item dbus.ObjectPath, value []byte, hadOld bool) error {
	got, err := b.getSecret(ctx, item)
	same := err == nil && bytes.Equal(got, value)
	clear(got)
	if same {
		return nil
	}
	kept := "nothing was stored"
	if hadOld {
		kept = "the previous value was kept"
	}
	if err != nil {
		err = fmt.Errorf("read the new value back: %w", err)
	} else {
		err = fmt.Errorf("%w (KeePassXC resolves {PLACEHOLDERS} in text)", ErrValueRewritten)
	}
	// The caller's ctx may be what ended the read.
	cctx, cancel := b.cleanupContext(ctx)
	defer cancel()
	if derr := b.deleteItem(cctx, item); derr != nil && !errors.Is(derr, backends.ErrNotFound) {
		return fmt.Errorf("%w; removing the new item failed too: %v", err, derr)
	}
	return fmt.Errorf("%w; %s", err, kept)
}

// dropNew deletes what a failed CreateItem may have left: KeePassXC
// creates the entry, then refuses a value such as {REF:...} and ends the
// prompt as dismissed, which left an empty item that later reads served.
func (b *Backend) dropNew(ctx context.Context, attrs map[string]string, old []dbus.ObjectPath) {
	cctx, cancel := b.cleanupContext(ctx)
	defer cancel()
	now, err := b.search(cctx, attrs, false)
	if err != nil {
		return
	}
	for _, item := range now {
		if !slices.Contains(old, item) {
			_ = b.deleteItem(cctx, item)
		}
	}
}

// findNew finds the item Set just created when the service did not say
// which it was: the one match that was not there before.
func (b *Backend) findNew(ctx context.Context, attrs map[string]string, old []dbus.ObjectPath) (dbus.ObjectPath, error) {
	now, err := b.search(ctx, attrs, false)
	if err != nil {
		return "", err
	}
	var fresh []dbus.ObjectPath
	for _, item := range now {
		if !slices.Contains(old, item) {
			fresh = append(fresh, item)
		}
	}
	if len(fresh) != 1 {
		return "", fmt.Errorf("the service did not say which item it created, and %d new ones match: cannot check what it stored", len(fresh))
	}
	return fresh[0], nil
}
