package secretservice

import (
	"context"
	"fmt"
	"slices"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// NameLister lists the names of a service's items in collections that are
// unlocked already, for shell completion: a Tab press must never show an
// unlock dialog, start a daemon or wait on one. It opens no transfer
// session (names are attributes, not secrets), never calls Unlock, and
// sends every call with NoAutoStart so that a Secret Service that is not
// running is not activated. Items in a locked collection are not listed.
type NameLister struct {
	conn     *dbus.Conn
	ownsConn bool
	service  string
	// running is false when the service is only activatable: a fresh
	// daemon would have its collections locked, so there is nothing to
	// list, and starting one from a completion would leave it behind.
	running bool
}

// OpenNameLister connects to the session bus (or uses opts.Conn) and
// checks, without activating anything, that a Secret Service is there. It
// fails with an error wrapping backends.ErrUnavailable, as Open does, when
// there is no bus or no service that could answer, so that store
// selection treats it like Open.
func OpenNameLister(ctx context.Context, opts Options) (*NameLister, error) {
	if !platformSupported {
		return nil, backends.ErrUnsupported
	}
	l := &NameLister{conn: opts.Conn, service: opts.Service}
	if l.service == "" {
		l.service = "kr"
	}
	if l.conn == nil {
		addr, err := sessionBusAddress()
		if err != nil {
			return nil, err
		}
		if l.conn, err = connect(ctx, addr); err != nil {
			return nil, err
		}
		l.ownsConn = true
	}
	running, err := l.present(ctx)
	if err != nil {
		l.Close()
		return nil, err
	}
	l.running = running
	return l, nil
}

// present reports whether the service runs; an activatable one that does
// not run yet is there (Open would start it) but not running.
func (l *NameLister) present(ctx context.Context) (running bool, err error) {
	bus := l.conn.BusObject()
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, busName).Store(&running); err != nil {
		return false, askBusError(ctx, "ask the bus for the service", err)
	}
	if running {
		return true, nil
	}
	var activatable []string
	if err := bus.CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable); err != nil {
		return false, askBusError(ctx, "list activatable services", err)
	}
	if !slices.Contains(activatable, busName) {
		return false, fmt.Errorf("%w: no Secret Service on the session bus (is gnome-keyring or KeePassXC running?)", backends.ErrUnavailable)
	}
	return false, nil
}

// askBusError makes a bus that does not answer unavailable, as Open does,
// keeping a context error testable.
func askBusError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if isContextErr(err) {
		return fmt.Errorf("%w: %s: no answer in time: %w", backends.ErrUnavailable, what, err)
	}
	return fmt.Errorf("%w: %s: %v", backends.ErrUnavailable, what, err)
}

// List returns the valid kr names starting with prefix among the service's
// items in unlocked collections, sorted and without duplicates.
//
// It searches each unlocked collection, never the service as a whole:
// KeePassXC answers Service.SearchItems, when every database is locked, by
// showing its unlock dialog (its "unlock before search" setting, on by
// default), a prompt with no Prompt object to dismiss.
func (l *NameLister) List(ctx context.Context, prefix string) ([]string, error) {
	if !l.running {
		return nil, nil
	}
	var v dbus.Variant
	if err := l.conn.Object(busName, servicePath).CallWithContext(ctx, ifaceProperties+".Get", dbus.FlagNoAutoStart,
		ifaceService, "Collections").Store(&v); err != nil {
		return nil, fmt.Errorf("list collections: %w", err)
	}
	collections, _ := v.Value().([]dbus.ObjectPath)
	var open []dbus.ObjectPath
	for i, v := range l.getAll(ctx, collections, ifaceCollection, "Locked") {
		if locked, ok := v.Value().(bool); ok && !locked {
			open = append(open, collections[i])
		}
	}
	calls := make([]*dbus.Call, len(open))
	for i, coll := range open {
		calls[i] = l.conn.Object(busName, coll).GoWithContext(ctx, ifaceCollection+".SearchItems", dbus.FlagNoAutoStart,
			make(chan *dbus.Call, 1), map[string]string{attrService: l.service})
	}
	var items []dbus.ObjectPath
	for _, c := range calls {
		<-c.Done
		var found []dbus.ObjectPath
		if err := c.Store(&found); err == nil {
			items = append(items, found...)
		}
	}
	var names []string
	for _, v := range l.getAll(ctx, items, ifaceItem, "Attributes") {
		attrs, _ := v.Value().(map[string]string)
		name, ok := krName(attrs, l.service, prefix)
		if !ok {
			continue
		}
		names = append(names, name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list unlocked items: %w", err)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// getAll reads one property of many objects, sent together and awaited
// together: one round trip for the lot. An object that is gone or refuses
// (locked meanwhile) gives a zero Variant.
func (l *NameLister) getAll(ctx context.Context, paths []dbus.ObjectPath, iface, prop string) []dbus.Variant {
	calls := make([]*dbus.Call, len(paths))
	for i, p := range paths {
		calls[i] = l.conn.Object(busName, p).GoWithContext(ctx, ifaceProperties+".Get", dbus.FlagNoAutoStart,
			make(chan *dbus.Call, 1), iface, prop)
	}
	values := make([]dbus.Variant, len(paths))
	for i, c := range calls {
		<-c.Done
		_ = c.Store(&values[i])
	}
	return values
}

// Close closes the bus connection if OpenNameLister made it.
func (l *NameLister) Close() error {
	if !l.ownsConn {
		return nil
	}
	if err := l.conn.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}
