// Package secretservice stores kr's secrets in the freedesktop.org Secret
// Service (gnome-keyring, KeePassXC, KWallet) over D-Bus. It owns the bus
// connection, the encrypted transfer session, collection and prompt
// handling, and the item schema shared with secret-tool, Python keyring and
// zalando/go-keyring. Its errors wrap backends.ErrUnavailable only when
// there is no bus or no service on it; a locked collection is never taken
// for an empty one, and a value is reported stored only once it reads back
// the same. Errors name the operation, not the store: the caller knows
// which store it opened. NameLister, for shell completion, reads item
// names without opening a session, unlocking anything or activating a
// service.
package secretservice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// Options configures Open.
type Options struct {
	// Service is the value of the "service" attribute; "" means "kr".
	Service string
	// Conn is an already connected bus, for tests; nil means the session
	// bus. A Conn passed in is not closed by Close.
	Conn *dbus.Conn

	// algorithm forces a transfer algorithm; "" negotiates. Tests use it
	// to prove the monitor sees payloads in a plain session.
	algorithm string
}

// Info describes the store for `kr doctor`.
type Info struct {
	// Service is the unique bus name that owns org.freedesktop.secrets.
	Service string
	// Collection is where Set writes, "" when there is none yet.
	Collection      dbus.ObjectPath
	CollectionLabel string
	Locked          bool
	// Algorithm is the transfer algorithm of the session:
	// "dh-ietf1024-sha256-aes128-cbc-pkcs7" or "plain".
	Algorithm string
}

// Backend is a Secret Service client holding one bus connection and one
// transfer session for its lifetime. It is safe for concurrent use.
type Backend struct {
	conn     *dbus.Conn
	ownsConn bool
	service  string

	mu         sync.RWMutex
	session    dbus.ObjectPath
	algorithm  string
	key        []byte // AES key of the session; nil for plain
	collection dbus.ObjectPath
	closed     bool
}

var _ backends.Backend = (*Backend)(nil)

// Open connects to the session bus and opens a transfer session, which
// also proves the Secret Service answers. Only a missing bus or service
// gives an error wrapping backends.ErrUnavailable, as soon as the bus says
// so. A bus or service that does not answer before ctx ends gives ctx's
// error (context.DeadlineExceeded), and one that answers wrongly a plain
// error: neither means "no store here".
func Open(ctx context.Context, opts Options) (_ *Backend, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	if !platformSupported {
		return nil, backends.ErrUnsupported
	}
	b := &Backend{conn: opts.Conn, service: opts.Service}
	if b.service == "" {
		b.service = "kr"
	}
	// Our half of the key agreement is computed while the bus handshake
	// runs: it is most of the CPU time of a short-lived kr process.
	keys := make(chan keyPairResult, 1)
	if opts.algorithm != algorithmPlain {
		go func() {
			kp, err := newDHKeyPair(randReader())
			keys <- keyPairResult{kp, err}
		}()
	} else {
		close(keys)
	}
	if b.conn == nil {
		addr, err := sessionBusAddress()
		if err != nil {
			return nil, err
		}
		if b.conn, err = connect(ctx, addr); err != nil {
			return nil, err
		}
		b.ownsConn = true
	}
	// OpenSession must not be the first message of a connection:
	// gnome-keyring (42 to at least 50; GNOME gnome-keyring issues 183, 190
	// and 194) registers a client in an idle callback when its first message
	// arrives, a method call can overtake it, and OpenSession from a client
	// it has not registered fails an assertion that aborts the daemon, with
	// every other client's sessions. Looking up the default collection,
	// which kr needs anyway, registers us first; it runs while our DH key
	// is computed. Found when the test suite's shared daemon died mid-run.
	_, err = b.readCollection(ctx)
	kp := <-keys
	defer kp.kp.wipe()
	if err == nil {
		err = kp.err
	}
	if err == nil {
		err = b.openSession(ctx, opts.algorithm, kp.kp)
	}
	if err != nil {
		if b.ownsConn {
			b.conn.Close()
		}
		return nil, err
	}
	return b, nil
}

// Name implements backends.Backend.
func (b *Backend) Name() string { return backends.SecretService }

// Close ends the transfer session, wipes its key and closes the bus
// connection if Open made it.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	session := b.session
	clear(b.key)
	b.key = nil
	b.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := b.call(ctx, session, ifaceSession+".Close").Err
	if b.ownsConn {
		if cerr := b.conn.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// Get returns the value of the item whose service and username attributes
// match. Extra attributes (Python keyring adds "application") do not
// matter. When several items match, the most recently modified wins, then
// the greatest object path, so the choice is stable; Set removes the others
// it can.
func (b *Backend) Get(ctx context.Context, name string) (_ []byte, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	items, err := b.find(ctx, b.itemAttributes(name), false)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("get %s: %w", name, backends.ErrNotFound)
	}
	item, err := b.newest(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	value, err := b.getSecret(ctx, item)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	return value, nil
}

// ErrValueRewritten is wrapped by Set when the store keeps something other
// than the value it was given.
var ErrValueRewritten = errors.New("the store rewrote the value")

// Set writes value into the default collection and reads it back: some
// stores rewrite values (KeePassXC resolves {TITLE}-style placeholders in
// text secrets), and kr never reports a value stored that does not read
// back the same. The new item is created next to the old ones, which are
// removed only once the new one checks out, so a refused value leaves the
// previous one in place. Old items include other tools' (with extra
// attributes) that are unlocked, so every client reads the new value.
func (b *Backend) Set(ctx context.Context, name string, value []byte) (err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	attrs := b.itemAttributes(name)
	coll, err := b.writeCollection(ctx)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	// A locked collection may hide the old items from the search.
	if _, err := b.unlockCollection(ctx, coll); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	old, err := b.search(ctx, attrs, false)
	if err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	item, err := b.createItem(ctx, name+labelSuffix, attrs, value)
	if err != nil {
		b.dropNew(ctx, attrs, old)
		return fmt.Errorf("set %s: %w", name, err)
	}
	if item == "" || item == noObject {
		// A prompt that did not say which item it made.
		if item, err = b.findNew(ctx, attrs, old); err != nil {
			return fmt.Errorf("set %s: %w", name, err)
		}
	}
	if err := b.verify(ctx, item, value, len(old) > 0); err != nil {
		return fmt.Errorf("set %s: %w", name, err)
	}
	for _, other := range old {
		if other == item {
			continue
		}
		if err := b.deleteItem(ctx, other); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return fmt.Errorf("set %s: remove older copy %s: %w", name, other, err)
		}
	}
	return nil
}

// Delete removes every item with the name's service and username.
func (b *Backend) Delete(ctx context.Context, name string) (err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	items, err := b.find(ctx, b.itemAttributes(name), true)
	if err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	deleted := 0
	for _, item := range items {
		err := b.deleteItem(ctx, item)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
		deleted++
	}
	if deleted == 0 {
		return fmt.Errorf("delete %s: %w", name, backends.ErrNotFound)
	}
	return nil
}

// List returns the valid kr names among the service's items that start
// with prefix, sorted and without duplicates. Items other tools wrote with
// names kr cannot address are left out.
func (b *Backend) List(ctx context.Context, prefix string) (_ []string, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	items, err := b.find(ctx, map[string]string{attrService: b.service}, true)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	calls := make([]*dbus.Call, len(items))
	for i, item := range items {
		// Sent together and awaited together: one round trip of latency for
		// the whole list instead of one per item.
		calls[i] = b.conn.Object(busName, item).GoWithContext(ctx, ifaceProperties+".Get", 0, make(chan *dbus.Call, 1), ifaceItem, "Attributes")
	}
	names := make([]string, 0, len(items))
	for _, c := range calls {
		<-c.Done
		var v dbus.Variant
		if err := c.Store(&v); err != nil {
			if isGone(err) {
				continue
			}
			return nil, fmt.Errorf("list: %w", classify("read attributes", err))
		}
		attrs, _ := v.Value().(map[string]string)
		name, ok := krName(attrs, b.service, prefix)
		if !ok {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Info reports the service owner, the collection Set writes to and the
// transfer algorithm, without creating or unlocking anything.
func (b *Backend) Info(ctx context.Context) (_ Info, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	info := Info{Algorithm: b.currentAlgorithm()}
	if err := b.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&info.Service); err != nil {
		return info, fmt.Errorf("info: %w", classify("find the service owner", err))
	}
	coll, err := b.findCollection(ctx)
	if err != nil {
		return info, fmt.Errorf("info: %w", err)
	}
	if coll == "" {
		return info, nil
	}
	info.Collection = coll
	var props map[string]dbus.Variant
	if err := b.call(ctx, coll, ifaceProperties+".GetAll", ifaceCollection).Store(&props); err != nil {
		return info, fmt.Errorf("info: %w", classify("read the collection", err))
	}
	info.CollectionLabel, _ = props["Label"].Value().(string)
	info.Locked, _ = props["Locked"].Value().(bool)
	return info, nil
}

// Has reports whether an item for name exists, without unlocking,
// prompting or reading it: one search, in which a locked match counts.
// A store that hides locked items (KeePassXC) may answer false for one it
// holds; Has is for hints, never for deciding that a value is absent.
func (b *Backend) Has(ctx context.Context, name string) (_ bool, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	if err := backends.ValidateName(name); err != nil {
		return false, fmt.Errorf("has %s: %w", name, err)
	}
	var unlocked, locked []dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".SearchItems", b.itemAttributes(name)).Store(&unlocked, &locked); err != nil {
		return false, fmt.Errorf("has %s: %w", name, classify("search", err))
	}
	return len(unlocked)+len(locked) > 0, nil
}
