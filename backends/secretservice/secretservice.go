// Package secretservice stores kr's secrets in the freedesktop.org Secret
// Service (gnome-keyring, KeePassXC, KWallet) over D-Bus. It owns the bus
// connection, the encrypted transfer session, collection and prompt
// handling, and the item schema shared with secret-tool, Python keyring and
// zalando/go-keyring. Its errors wrap backends.ErrUnavailable only when
// there is no bus or no service on it; a locked collection is never taken
// for an empty one, and a value is reported stored only once it reads back
// the same.
package secretservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// D-Bus names of the Secret Service API.
const (
	busName         = "org.freedesktop.secrets"
	servicePath     = dbus.ObjectPath("/org/freedesktop/secrets")
	loginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	noObject        = dbus.ObjectPath("/")
	ifaceService    = "org.freedesktop.Secret.Service"
	ifaceCollection = "org.freedesktop.Secret.Collection"
	ifaceItem       = "org.freedesktop.Secret.Item"
	ifaceSession    = "org.freedesktop.Secret.Session"
	ifacePrompt     = "org.freedesktop.Secret.Prompt"
	ifaceProperties = "org.freedesktop.DBus.Properties"
)

// D-Bus error names kr tells apart.
const (
	errIsLocked       = "org.freedesktop.Secret.Error.IsLocked"
	errNoSession      = "org.freedesktop.Secret.Error.NoSession"
	errNoSuchObject   = "org.freedesktop.Secret.Error.NoSuchObject"
	errNotSupported   = "org.freedesktop.DBus.Error.NotSupported"
	errUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errInvalidArgs    = "org.freedesktop.DBus.Error.InvalidArgs"
	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errNoReply        = "org.freedesktop.DBus.Error.NoReply"
	errDisconnected   = "org.freedesktop.DBus.Error.Disconnected"
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

// errBackendClosed is a call on a Backend after Close: a caller's mistake,
// not a missing store.
var errBackendClosed = errors.New("backend is closed")

// cleanupTimeout bounds calls made after the caller's context is already
// done (dismissing a prompt, closing the session), so they cannot hang.
const cleanupTimeout = time.Second

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

// secret is the Secret struct of the API: (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Open connects to the session bus and opens a transfer session, which
// also proves the Secret Service answers. Only a missing bus or service
// gives an error wrapping backends.ErrUnavailable, as soon as the bus says
// so. A bus or service that does not answer before ctx ends gives ctx's
// error (context.DeadlineExceeded), and one that answers wrongly a plain
// error: neither means "no store here".
func Open(ctx context.Context, opts Options) (*Backend, error) {
	if !platformSupported {
		return nil, fmt.Errorf("secret service: %w", backends.ErrUnsupported)
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
			return nil, fmt.Errorf("secret service: %w", err)
		}
		if b.conn, err = connect(ctx, addr); err != nil {
			return nil, fmt.Errorf("secret service: %w", err)
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
	_, err := b.readCollection(ctx)
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
		return nil, fmt.Errorf("secret service: %w", err)
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
		return fmt.Errorf("secret service: close: %w", err)
	}
	return nil
}

type keyPairResult struct {
	kp  *dhKeyPair
	err error
}

// openSession negotiates the transfer algorithm: Diffie-Hellman with
// AES-128, or plain only when the service says it does not support that.
// kp is our key pair for DH, or nil to make one.
func (b *Backend) openSession(ctx context.Context, force string, kp *dhKeyPair) error {
	if force != algorithmPlain {
		err := b.openDHSession(ctx, kp)
		if err == nil || force == algorithmDH || dbusErrorName(err) != errNotSupported {
			return err
		}
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	err := b.call(ctx, servicePath, ifaceService+".OpenSession", algorithmPlain, dbus.MakeVariant("")).Store(&out, &path)
	if err != nil {
		return classifyOpen(ctx, err)
	}
	b.mu.Lock()
	b.session, b.algorithm, b.key = path, algorithmPlain, nil
	b.mu.Unlock()
	return nil
}

func (b *Backend) openDHSession(ctx context.Context, kp *dhKeyPair) error {
	if kp == nil {
		var err error
		if kp, err = newDHKeyPair(randReader()); err != nil {
			return err
		}
		defer kp.wipe()
	}
	var out dbus.Variant
	var path dbus.ObjectPath
	err := b.call(ctx, servicePath, ifaceService+".OpenSession", algorithmDH, dbus.MakeVariant(kp.public)).Store(&out, &path)
	if err != nil {
		if dbusErrorName(err) == errNotSupported {
			return err
		}
		return classifyOpen(ctx, err)
	}
	servicePublic, ok := out.Value().([]byte)
	if !ok {
		return fmt.Errorf("open session: service sent a %s, not a public key", out.Signature())
	}
	key, err := kp.deriveKey(servicePublic)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	b.mu.Lock()
	clear(b.key)
	b.session, b.algorithm, b.key = path, algorithmDH, key
	b.mu.Unlock()
	return nil
}

// classifyOpen is classify for OpenSession, keeping ctx's error when the
// call failed for another reason after ctx ended.
func classifyOpen(ctx context.Context, err error) error {
	if !isContextErr(err) && ctx.Err() != nil {
		err = ctx.Err()
	}
	return classify("open session", err)
}

// Get returns the value of the item whose service and username attributes
// match. Extra attributes (Python keyring adds "application") do not
// matter. When several items match, the most recently modified wins, then
// the greatest object path, so the choice is stable; Set removes the others
// it can.
func (b *Backend) Get(ctx context.Context, name string) ([]byte, error) {
	items, err := b.find(ctx, b.itemAttributes(name), false)
	if err != nil {
		return nil, fmt.Errorf("secret service: get %s: %w", name, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("secret service: get %s: %w", name, backends.ErrNotFound)
	}
	item, err := b.newest(ctx, items)
	if err != nil {
		return nil, fmt.Errorf("secret service: get %s: %w", name, err)
	}
	value, err := b.getSecret(ctx, item)
	if err != nil {
		return nil, fmt.Errorf("secret service: get %s: %w", name, err)
	}
	return value, nil
}

func (b *Backend) getSecret(ctx context.Context, item dbus.ObjectPath) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		session := b.currentSession()
		var s secret
		err := b.call(ctx, item, ifaceItem+".GetSecret", session).Store(&s)
		if err == nil {
			return b.decode(s)
		}
		if isGone(err) {
			// Deleted between the search and now.
			return nil, backends.ErrNotFound
		}
		switch dbusErrorName(err) {
		case errNoSession:
			if attempt == 0 {
				if err := b.reopenSession(ctx, session); err != nil {
					return nil, err
				}
				continue
			}
		case errIsLocked:
			if _, err := b.unlock(ctx, []dbus.ObjectPath{item}); err != nil {
				return nil, err
			}
			if attempt == 0 {
				continue
			}
		}
		return nil, classify("read secret", err)
	}
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
func (b *Backend) Set(ctx context.Context, name string, value []byte) error {
	attrs := b.itemAttributes(name)
	coll, err := b.writeCollection(ctx)
	if err != nil {
		return fmt.Errorf("secret service: set %s: %w", name, err)
	}
	// A locked collection may hide the old items from the search.
	if _, err := b.unlockCollection(ctx, coll); err != nil {
		return fmt.Errorf("secret service: set %s: %w", name, err)
	}
	old, err := b.search(ctx, attrs, false)
	if err != nil {
		return fmt.Errorf("secret service: set %s: %w", name, err)
	}
	item, err := b.createItem(ctx, name, attrs, value)
	if err != nil {
		b.dropNew(ctx, attrs, old)
		return fmt.Errorf("secret service: set %s: %w", name, err)
	}
	if item == "" || item == noObject {
		// A prompt that did not say which item it made.
		if item, err = b.findNew(ctx, attrs, old); err != nil {
			return fmt.Errorf("secret service: set %s: %w", name, err)
		}
	}
	if err := b.verify(ctx, item, value, len(old) > 0); err != nil {
		return fmt.Errorf("secret service: set %s: %w", name, err)
	}
	for _, other := range old {
		if other == item {
			continue
		}
		if err := b.deleteItem(ctx, other); err != nil && !errors.Is(err, backends.ErrNotFound) {
			return fmt.Errorf("secret service: set %s: remove older copy %s: %w", name, other, err)
		}
	}
	return nil
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

func (b *Backend) createItem(ctx context.Context, name string, attrs map[string]string, value []byte) (dbus.ObjectPath, error) {
	props := map[string]dbus.Variant{
		ifaceItem + ".Label":      dbus.MakeVariant(name + labelSuffix),
		ifaceItem + ".Attributes": dbus.MakeVariant(attrs),
	}
	for attempt := 0; ; attempt++ {
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
		if err == nil {
			if prompt == noObject {
				return item, nil
			}
			result, err := b.prompt(ctx, prompt)
			if err != nil {
				return "", err
			}
			p, _ := result.Value().(dbus.ObjectPath)
			return p, nil
		}
		if attempt > 0 {
			return "", classify("create item", err)
		}
		switch name := dbusErrorName(err); {
		case name == errIsLocked:
			if _, err := b.unlock(ctx, []dbus.ObjectPath{coll}); err != nil {
				return "", err
			}
		case name == errNoSession:
			if err := b.reopenSession(ctx, session); err != nil {
				return "", err
			}
		case isGone(err):
			// The cached collection was deleted: look it up again.
			b.forgetCollection(coll)
		default:
			return "", classify("create item", err)
		}
	}
}

// Delete removes every item with the name's service and username.
func (b *Backend) Delete(ctx context.Context, name string) error {
	items, err := b.find(ctx, b.itemAttributes(name), true)
	if err != nil {
		return fmt.Errorf("secret service: delete %s: %w", name, err)
	}
	deleted := 0
	for _, item := range items {
		err := b.deleteItem(ctx, item)
		if errors.Is(err, backends.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("secret service: delete %s: %w", name, err)
		}
		deleted++
	}
	if deleted == 0 {
		return fmt.Errorf("secret service: delete %s: %w", name, backends.ErrNotFound)
	}
	return nil
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

// List returns the valid kr names among the service's items that start
// with prefix, sorted and without duplicates. Items other tools wrote with
// names kr cannot address are left out.
func (b *Backend) List(ctx context.Context, prefix string) ([]string, error) {
	items, err := b.find(ctx, map[string]string{attrService: b.service}, true)
	if err != nil {
		return nil, fmt.Errorf("secret service: list: %w", err)
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
			return nil, fmt.Errorf("secret service: list: %w", classify("read attributes", err))
		}
		attrs, _ := v.Value().(map[string]string)
		name, ok := attrs[attrUsername]
		if !ok || attrs[attrService] != b.service || !strings.HasPrefix(name, prefix) || backends.ValidateName(name) != nil {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Info reports the service owner, the collection Set writes to and the
// transfer algorithm, without creating or unlocking anything.
func (b *Backend) Info(ctx context.Context) (Info, error) {
	info := Info{Algorithm: b.currentAlgorithm()}
	if err := b.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, busName).Store(&info.Service); err != nil {
		return info, fmt.Errorf("secret service: info: %w", classify("find the service owner", err))
	}
	coll, err := b.findCollection(ctx)
	if err != nil {
		return info, fmt.Errorf("secret service: info: %w", err)
	}
	if coll == "" {
		return info, nil
	}
	info.Collection = coll
	var props map[string]dbus.Variant
	if err := b.call(ctx, coll, ifaceProperties+".GetAll", ifaceCollection).Store(&props); err != nil {
		return info, fmt.Errorf("secret service: info: %w", classify("read the collection", err))
	}
	info.CollectionLabel, _ = props["Label"].Value().(string)
	info.Locked, _ = props["Locked"].Value().(bool)
	return info, nil
}

// Has reports whether an item for name exists, without unlocking,
// prompting or reading it: one search, in which a locked match counts.
// A store that hides locked items (KeePassXC) may answer false for one it
// holds; Has is for hints, never for deciding that a value is absent.
func (b *Backend) Has(ctx context.Context, name string) (bool, error) {
	if err := backends.ValidateName(name); err != nil {
		return false, fmt.Errorf("secret service: has %s: %w", name, err)
	}
	var unlocked, locked []dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".SearchItems", b.itemAttributes(name)).Store(&unlocked, &locked); err != nil {
		return false, fmt.Errorf("secret service: has %s: %w", name, classify("search", err))
	}
	return len(unlocked)+len(locked) > 0, nil
}

func (b *Backend) itemAttributes(name string) map[string]string {
	return map[string]string{attrService: b.service, attrUsername: name}
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

func (b *Backend) currentSession() dbus.ObjectPath {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.session
}

func (b *Backend) currentAlgorithm() string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.algorithm
}

// reopenSession replaces a session the service forgot (it restarted),
// unless another call already did.
func (b *Backend) reopenSession(ctx context.Context, stale dbus.ObjectPath) error {
	b.mu.RLock()
	current, algorithm, closed := b.session, b.algorithm, b.closed
	b.mu.RUnlock()
	if closed {
		return errBackendClosed
	}
	if current != stale {
		return nil
	}
	return b.openSession(ctx, algorithm, nil)
}

// encode wraps value for the service: encrypted under the session key, or
// as is in a plain session.
func (b *Backend) encode(session dbus.ObjectPath, value []byte) (secret, error) {
	s := secret{Session: session, ContentType: contentBinary}
	if utf8.Valid(value) && !slices.Contains(value, 0) {
		s.ContentType = contentText
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return s, errBackendClosed
	}
	if b.key == nil {
		s.Parameters = []byte{}
		s.Value = slices.Clone(value)
		if s.Value == nil {
			s.Value = []byte{}
		}
		return s, nil
	}
	iv, ct, err := encryptSecret(b.key, value, randReader())
	if err != nil {
		return s, err
	}
	s.Parameters, s.Value = iv, ct
	return s, nil
}

func (b *Backend) decode(s secret) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, errBackendClosed
	}
	if b.key == nil {
		if s.Value == nil {
			return []byte{}, nil
		}
		return s.Value, nil
	}
	value, err := decryptSecret(b.key, s.Parameters, s.Value)
	clear(s.Value)
	return value, err
}

func (b *Backend) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	return b.conn.Object(busName, path).CallWithContext(ctx, method, 0, args...)
}

// classify maps a failed call to kr's errors. ErrUnavailable means only
// that the bus or the service is not there: auto-selection moves on to
// another store for it, so a service that is slow (the caller's context
// ended, or the bus gave up waiting: NoReply), locked or failing keeps its
// own error.
func classify(what string, err error) error {
	switch {
	case isContextErr(err):
		return noAnswer(what, err)
	case dbusErrorName(err) == errIsLocked:
		return fmt.Errorf("%s: %w", what, backends.ErrLocked)
	case serviceMissing(err):
		return fmt.Errorf("%w: no Secret Service on the session bus (is gnome-keyring or KeePassXC running?)", backends.ErrUnavailable)
	case dbusErrorName(err) == errDisconnected || errors.Is(err, dbus.ErrClosed):
		return fmt.Errorf("%w: %s: the session bus connection closed: %v", backends.ErrUnavailable, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// serviceMissing reports whether the bus said nobody owns the Secret
// Service's name and nothing can be activated for it.
func serviceMissing(err error) bool {
	switch dbusErrorName(err) {
	case errServiceUnknown, errNameHasNoOwner:
		return true
	}
	return false
}

// isGone reports whether err says the object called does not exist (any
// more): services answer a deleted item or collection with any of three
// names.
func isGone(err error) bool {
	switch dbusErrorName(err) {
	case errNoSuchObject, errUnknownObject, errUnknownMethod:
		return true
	}
	return false
}

// dbusErrorName is the D-Bus error name of err, or "".
func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Name
	}
	return ""
}
