package secretservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

// fakeService is a small Secret Service with one collection and a plain
// transfer session, made to misbehave the ways real services do and a real
// gnome-keyring does not on demand: refusing or botching the DH algorithm,
// hiding a locked collection's items (KeePassXC with UnlockBeforeSearch
// off), prompts that never complete or are dismissed, and values rewritten
// on the way in (KeePassXC resolving {PLACEHOLDERS}).
type fakeService struct {
	conn *dbus.Conn

	mu sync.Mutex
	// Behaviour, set before the client calls.
	dhReply    *dbus.Variant // OpenSession's output for DH; nil refuses DH with NotSupported
	openErr    string        // OpenSession fails with this D-Bus error name
	locked     bool          // the collection is locked
	hideLocked bool          // SearchItems finds nothing in the locked collection
	stuck      bool          // GetSecret answers IsLocked even once unlocked
	unlock     unlockMode
	rewrite    func(label string, value []byte) []byte // what the service stores for a value

	items     map[dbus.ObjectPath]*fakeItem
	next      int
	calls     []string // every method called, in order
	dismissed []dbus.ObjectPath
	prompted  chan struct{}
}

type fakeItem struct {
	label    string
	attrs    map[string]string
	value    []byte
	modified uint64
}

// unlockMode is what the fake's Unlock does.
type unlockMode int

const (
	unlockPromptNever     unlockMode = iota // a prompt nobody answers
	unlockRefused                           // nothing unlocked, no prompt
	unlockPromptDismissed                   // a prompt the user dismisses
	unlockPromptAccepted                    // a prompt the user answers: the collection unlocks
)

const (
	fakeSession    = dbus.ObjectPath("/org/freedesktop/secrets/session/fake")
	fakeCollection = loginCollection
	fakePrompt     = dbus.ObjectPath("/org/freedesktop/secrets/prompt/fake")
)

func (f *fakeService) record(method string) {
	f.mu.Lock()
	f.calls = append(f.calls, method)
	f.mu.Unlock()
}

// called returns the methods called so far.
func (f *fakeService) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeService) set(fn func(f *fakeService)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// add stores an item directly, as another client would have.
func (f *fakeService) add(t *testing.T, attrs map[string]string, value string) dbus.ObjectPath {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	path, err := f.addLocked("added", attrs, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func (f *fakeService) addLocked(label string, attrs map[string]string, value []byte) (dbus.ObjectPath, error) {
	f.next++
	path := dbus.ObjectPath(fmt.Sprintf("%s/%d", fakeCollection, f.next))
	f.items[path] = &fakeItem{label: label, attrs: maps.Clone(attrs), value: value, modified: uint64(f.next)}
	obj := fakeObject{f, path}
	for _, iface := range []string{ifaceItem, ifaceProperties} {
		if err := f.conn.Export(obj, path, iface); err != nil {
			return "", fmt.Errorf("export %s: %w", path, err)
		}
	}
	return path, nil
}

// matching returns the paths of the items whose attributes include attrs.
func (f *fakeService) matching(attrs map[string]string) []dbus.ObjectPath {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dbus.ObjectPath
	for path, it := range f.items {
		match := true
		for k, v := range attrs {
			if it.attrs[k] != v {
				match = false
			}
		}
		if match {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeService) OpenSession(algorithm string, _ dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
	f.record("OpenSession")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.openErr != "" {
		return dbus.MakeVariant(""), noObject, &dbus.Error{Name: f.openErr, Body: []any{"fake failure"}}
	}
	if algorithm == algorithmPlain {
		return dbus.MakeVariant(""), fakeSession, nil
	}
	if f.dhReply != nil {
		return *f.dhReply, fakeSession, nil
	}
	return dbus.MakeVariant(""), noObject, &dbus.Error{Name: errNotSupported, Body: []any{"only plain here"}}
}

func (f *fakeService) SearchItems(attrs map[string]string) ([]dbus.ObjectPath, []dbus.ObjectPath, *dbus.Error) {
	f.record("SearchItems")
	found := f.matching(attrs)
	f.mu.Lock()
	defer f.mu.Unlock()
	none := []dbus.ObjectPath{}
	switch {
	case !f.locked:
		return append(none, found...), none, nil
	case f.hideLocked:
		return none, none, nil
	}
	return none, append(none, found...), nil
}

func (f *fakeService) ReadAlias(name string) (dbus.ObjectPath, *dbus.Error) {
	f.record("ReadAlias")
	if name == "default" {
		return fakeCollection, nil
	}
	return noObject, nil
}

func (f *fakeService) Unlock(objects []dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	f.record("Unlock")
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.locked {
		return objects, noObject, nil
	}
	if f.unlock == unlockRefused {
		return []dbus.ObjectPath{}, noObject, nil
	}
	return []dbus.ObjectPath{}, fakePrompt, nil
}

// fakeObject serves the collection, its items and the prompt: each method
// looks at the path it was exported under.
type fakeObject struct {
	f    *fakeService
	path dbus.ObjectPath
}

var errFakeLocked = &dbus.Error{Name: errIsLocked, Body: []any{"collection is locked"}}

func (o fakeObject) CreateItem(props map[string]dbus.Variant, s secret, replace bool) (dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
	f := o.f
	f.record("CreateItem")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return noObject, noObject, errFakeLocked
	}
	label, _ := props[ifaceItem+".Label"].Value().(string)
	attrs, _ := props[ifaceItem+".Attributes"].Value().(map[string]string)
	value := s.Value
	if f.rewrite != nil {
		value = f.rewrite(label, value)
	}
	if replace {
		for path, it := range f.items {
			if maps.Equal(it.attrs, attrs) {
				it.value, it.label = value, label
				return path, noObject, nil
			}
		}
	}
	path, err := f.addLocked(label, attrs, value)
	if err != nil {
		return noObject, noObject, dbus.MakeFailedError(err)
	}
	return path, noObject, nil
}

func (o fakeObject) GetSecret(session dbus.ObjectPath) (secret, *dbus.Error) {
	f := o.f
	f.record("GetSecret")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked || f.stuck {
		return secret{}, errFakeLocked
	}
	it, ok := f.items[o.path]
	if !ok {
		return secret{}, &dbus.Error{Name: errNoSuchObject, Body: []any{"no such item"}}
	}
	return secret{Session: session, Parameters: []byte{}, Value: it.value, ContentType: contentText}, nil
}

func (o fakeObject) Delete() (dbus.ObjectPath, *dbus.Error) {
	f := o.f
	f.record("Delete")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.locked {
		return noObject, errFakeLocked
	}
	if _, ok := f.items[o.path]; !ok {
		return noObject, &dbus.Error{Name: errNoSuchObject, Body: []any{"no such item"}}
	}
	delete(f.items, o.path)
	for _, iface := range []string{ifaceItem, ifaceProperties} {
		_ = f.conn.Export(nil, o.path, iface)
	}
	return noObject, nil
}

func (o fakeObject) Get(iface, name string) (dbus.Variant, *dbus.Error) {
	f := o.f
	f.record("Get " + name)
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.path == fakeCollection {
		switch name {
		case "Locked":
			return dbus.MakeVariant(f.locked), nil
		case "Label":
			return dbus.MakeVariant("Login"), nil
		}
	} else if it, ok := f.items[o.path]; ok {
		switch name {
		case "Locked":
			return dbus.MakeVariant(f.locked), nil
		case "Label":
			return dbus.MakeVariant(it.label), nil
		case "Attributes":
			return dbus.MakeVariant(it.attrs), nil
		case "Modified":
			return dbus.MakeVariant(it.modified), nil
		}
	}
	return dbus.Variant{}, &dbus.Error{Name: errInvalidArgs, Body: []any{"no such property " + iface + "." + name}}
}

func (o fakeObject) GetAll(iface string) (map[string]dbus.Variant, *dbus.Error) {
	o.f.record("GetAll")
	locked, _ := o.Get(iface, "Locked")
	label, _ := o.Get(iface, "Label")
	return map[string]dbus.Variant{"Locked": locked, "Label": label}, nil
}

func (o fakeObject) Prompt(string) *dbus.Error {
	f := o.f
	f.record("Prompt")
	select {
	case f.prompted <- struct{}{}:
	default:
	}
	f.mu.Lock()
	mode := f.unlock
	if mode == unlockPromptAccepted {
		f.locked = false
	}
	f.mu.Unlock()
	// Completed goes out after the reply, as a real prompter's would.
	switch mode {
	case unlockPromptDismissed:
		go f.conn.Emit(fakePrompt, ifacePrompt+".Completed", true, dbus.MakeVariant(""))
	case unlockPromptAccepted:
		go f.conn.Emit(fakePrompt, ifacePrompt+".Completed", false, dbus.MakeVariant([]dbus.ObjectPath{fakeCollection}))
	}
	return nil
}

func (o fakeObject) Dismiss() *dbus.Error {
	o.f.record("Dismiss")
	o.f.mu.Lock()
	defer o.f.mu.Unlock()
	o.f.dismissed = append(o.f.dismissed, o.path)
	return nil
}

// startFake runs a fakeService on a bus of its own and returns it with a
// client connection to that bus. The fake starts with an unlocked, empty
// collection and refuses the DH algorithm.
func startFake(t *testing.T) (*fakeService, *dbus.Conn) {
	t.Helper()
	needDaemon(t)
	root, err := os.MkdirTemp(env.dir, "fake-")
	if err != nil {
		t.Fatal(err)
	}
	addr, stop, err := startBus(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	server, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	f := &fakeService{conn: server, items: map[dbus.ObjectPath]*fakeItem{}, prompted: make(chan struct{}, 1)}
	exports := []struct {
		v     any
		path  dbus.ObjectPath
		iface string
	}{
		{f, servicePath, ifaceService},
		{fakeObject{f, fakeCollection}, fakeCollection, ifaceCollection},
		{fakeObject{f, fakeCollection}, fakeCollection, ifaceProperties},
		{fakeObject{f, fakePrompt}, fakePrompt, ifacePrompt},
	}
	for _, e := range exports {
		if err := server.Export(e.v, e.path, e.iface); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := server.RequestName(busName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("RequestName: %v, %v", reply, err)
	}
	client, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return f, client
}

// openFake opens a Backend on the fake with a fresh service attribute.
func openFake(t *testing.T, conn *dbus.Conn) *Backend {
	t.Helper()
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn, Service: freshService(t)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestPlainFallback: a service that answers NotSupported to the DH
// algorithm gets a plain session, and says so in Info.
func TestPlainFallback(t *testing.T) {
	_, conn := startFake(t)
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := b.currentAlgorithm(); got != algorithmPlain {
		t.Fatalf("algorithm = %q, want plain", got)
	}
	if _, err := Open(testContext(t, 5*time.Second), Options{Conn: conn, algorithm: algorithmDH}); err == nil {
		t.Fatalf("forcing DH on a service without it succeeded")
	}
}

// TestPromptTimeout: a prompt nobody answers ends the call with ErrLocked
// at ctx's deadline and is dismissed.
func TestPromptTimeout(t *testing.T) {
	f, conn := startFake(t)
	b := openFake(t, conn)
	f.add(t, b.itemAttributes("anything"), "v")
	f.set(func(f *fakeService) { f.locked, f.unlock = true, unlockPromptNever })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.Get(ctx, "anything")
	took := time.Since(start)
	if !errors.Is(err, backends.ErrLocked) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get behind an unanswered prompt: %v, want ErrLocked and DeadlineExceeded", err)
	}
	if took < 1500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("Get returned after %v, want about the 2s deadline", took)
	}
	select {
	case <-f.prompted:
	default:
		t.Fatalf("the prompt was never shown")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.dismissed) != 1 {
		t.Fatalf("prompt dismissed %d times, want once", len(f.dismissed))
	}
	t.Logf("Get: %v after %v", err, took)
}

// TestLockedCollectionNeverEmpty: a service that hides a locked
// collection's items (KeePassXC with UnlockBeforeSearch off answers the
// search with nothing) must not make kr say "not found" or list nothing:
// every call checks the collection and unlocks it, or fails with ErrLocked
// (ErrCanceled when the prompt is dismissed).
func TestLockedCollectionNeverEmpty(t *testing.T) {
	for _, c := range []struct {
		name string
		mode unlockMode
		want error
	}{
		{"Refused", unlockRefused, backends.ErrLocked},
		{"Dismissed", unlockPromptDismissed, backends.ErrCanceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, conn := startFake(t)
			b := openFake(t, conn)
			hidden := f.add(t, b.itemAttributes("hidden"), "v")
			f.set(func(f *fakeService) { f.locked, f.hideLocked, f.unlock = true, true, c.mode })
			ctx := testContext(t, 5*time.Second)
			ops := []struct {
				name string
				do   func() error
			}{
				{"Get", func() error { _, err := b.Get(ctx, "hidden"); return err }},
				{"GetMissing", func() error { _, err := b.Get(ctx, "missing"); return err }},
				{"List", func() error {
					names, err := b.List(ctx, "")
					if err == nil {
						t.Logf("List = %q", names)
					}
					return err
				}},
				{"Delete", func() error { return b.Delete(ctx, "hidden") }},
				{"Set", func() error { return b.Set(ctx, "new", []byte("v")) }},
			}
			for _, op := range ops {
				if err := op.do(); !errors.Is(err, c.want) || errors.Is(err, backends.ErrNotFound) {
					t.Errorf("%s on a locked collection that hides its items: %v, want %v", op.name, err, c.want)
				}
			}
			if items := f.matching(b.itemAttributes("hidden")); !slices.Equal(items, []dbus.ObjectPath{hidden}) {
				t.Errorf("items after the calls = %v, want the hidden one", items)
			}
		})
	}
	t.Run("Unlocked", func(t *testing.T) {
		f, conn := startFake(t)
		b := openFake(t, conn)
		f.add(t, b.itemAttributes("hidden"), "v")
		f.set(func(f *fakeService) { f.locked, f.hideLocked, f.unlock = true, true, unlockPromptAccepted })
		ctx := testContext(t, 5*time.Second)
		if got, err := b.Get(ctx, "hidden"); err != nil || string(got) != "v" {
			t.Fatalf("Get after the prompt unlocked the collection = %q, %v", got, err)
		}
		f.set(func(f *fakeService) { f.locked = true })
		if names, err := b.List(ctx, ""); err != nil || !slices.Equal(names, []string{"hidden"}) {
			t.Fatalf("List after the prompt unlocked the collection = %q, %v", names, err)
		}
		f.set(func(f *fakeService) { f.locked = true })
		if err := b.Delete(ctx, "hidden"); err != nil {
			t.Fatalf("Delete after the prompt unlocked the collection: %v", err)
		}
		if left := f.matching(b.itemAttributes("hidden")); len(left) != 0 {
			t.Fatalf("Delete left %v", left)
		}
	})
}

// TestSetVerifies: a store that rewrites a value (KeePassXC resolves
// {TITLE} to the item's label) must not make Set report success; the
// previous value stays, and no extra item is left behind.
func TestSetVerifies(t *testing.T) {
	f, conn := startFake(t)
	b := openFake(t, conn)
	ctx := testContext(t, 5*time.Second)
	if err := b.Set(ctx, "x", []byte("old")); err != nil {
		t.Fatal(err)
	}
	f.set(func(f *fakeService) {
		f.rewrite = func(label string, v []byte) []byte {
			return bytes.ReplaceAll(v, []byte("{TITLE}"), []byte(label))
		}
	})
	getSecrets := func(calls []string) int {
		n := 0
		for _, c := range calls {
			if c == "GetSecret" {
				n++
			}
		}
		return n
	}

	before := len(f.called())
	err := b.Set(ctx, "x", []byte("pw-{TITLE}"))
	if err == nil || !strings.Contains(err.Error(), "rewrote") || !strings.Contains(err.Error(), "previous value was kept") {
		t.Fatalf("Set of a value the store rewrites: %v, want an error saying so", err)
	}
	if !errors.Is(err, ErrValueRewritten) {
		t.Errorf("Set: %v, want ErrValueRewritten", err)
	}
	if strings.Contains(err.Error(), "pw-") {
		t.Errorf("the error shows the value: %v", err)
	}
	t.Logf("Set: %v", err)
	if n := getSecrets(f.called()[before:]); n != 1 {
		t.Errorf("Set read the value back %d times, want once", n)
	}
	if got, err := b.Get(ctx, "x"); err != nil || string(got) != "old" {
		t.Fatalf("Get after the refused Set = %q, %v; want the old value", got, err)
	}
	if items := f.matching(b.itemAttributes("x")); len(items) != 1 {
		t.Fatalf("items after the refused Set = %v, want one", items)
	}

	// Nothing stored before: nothing stored after.
	if err := b.Set(ctx, "y", []byte("{TITLE}")); err == nil || !strings.Contains(err.Error(), "rewrote") {
		t.Fatalf("Set of a new value the store rewrites: %v, want an error", err)
	}
	if _, err := b.Get(ctx, "y"); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("Get after the refused Set: %v, want ErrNotFound", err)
	}
	if items := f.matching(b.itemAttributes("y")); len(items) != 0 {
		t.Fatalf("items after the refused Set = %v, want none", items)
	}

	// A value the store keeps as is replaces the old one, which goes.
	before = len(f.called())
	if err := b.Set(ctx, "x", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if n := getSecrets(f.called()[before:]); n != 1 {
		t.Errorf("Set read the value back %d times, want once", n)
	}
	if got, err := b.Get(ctx, "x"); err != nil || string(got) != "new" {
		t.Fatalf("Get = %q, %v; want new", got, err)
	}
	if items := f.matching(b.itemAttributes("x")); len(items) != 1 {
		t.Fatalf("items after Set = %v, want one", items)
	}
}

// TestHas: Has answers from the search alone: a locked match counts, and
// nothing is unlocked, prompted for or read.
func TestHas(t *testing.T) {
	f, conn := startFake(t)
	b := openFake(t, conn)
	ctx := testContext(t, 5*time.Second)
	if has, err := b.Has(ctx, "absent"); err != nil || has {
		t.Fatalf("Has(absent) = %v, %v", has, err)
	}
	f.add(t, b.itemAttributes("present"), "v")
	if has, err := b.Has(ctx, "present"); err != nil || !has {
		t.Fatalf("Has(present) = %v, %v", has, err)
	}
	f.set(func(f *fakeService) { f.locked, f.unlock = true, unlockPromptNever })
	before := len(f.called())
	if has, err := b.Has(ctx, "present"); err != nil || !has {
		t.Fatalf("Has(present) in a locked collection = %v, %v", has, err)
	}
	if has, err := b.Has(ctx, "absent"); err != nil || has {
		t.Fatalf("Has(absent) in a locked collection = %v, %v", has, err)
	}
	if calls := f.called()[before:]; !slices.Equal(calls, []string{"SearchItems", "SearchItems"}) {
		t.Fatalf("Has called %q, want only SearchItems", calls)
	}
	select {
	case <-f.prompted:
		t.Fatalf("Has showed a prompt")
	default:
	}
	if _, err := b.Has(ctx, "bad name/"); !errors.Is(err, backends.ErrInvalidName) {
		t.Fatalf("Has with an invalid name: %v, want ErrInvalidName", err)
	}
}

// TestOpenSessionNotFirst: gnome-keyring (42 to at least 50) aborts when
// the first message a connection sends it is OpenSession (see Open), which
// killed the test suite's shared daemon mid-run. kr's first call on a fresh
// connection must be another one.
func TestOpenSessionNotFirst(t *testing.T) {
	f, conn := startFake(t)
	openFake(t, conn)
	calls := f.called()
	if len(calls) == 0 || calls[0] == "OpenSession" {
		t.Fatalf("calls on a fresh connection: %q, want something before OpenSession", calls)
	}
}

// TestErrorsNameTheOperation: an error says what kr was doing and with
// which name, and leaves naming the store to the caller, which knows which
// one it opened (a lead naming the store was added here and stripped again
// in backends.Select).
func TestErrorsNameTheOperation(t *testing.T) {
	_, conn := startFake(t)
	b := openFake(t, conn)
	ctx := testContext(t, 5*time.Second)
	_, getErr := b.Get(ctx, "absent")
	delErr := b.Delete(ctx, "absent")
	for _, c := range []struct {
		err  error
		want string
	}{
		{getErr, "get absent: secret not found"},
		{delErr, "delete absent: secret not found"},
	} {
		if c.err == nil || c.err.Error() != c.want || !errors.Is(c.err, backends.ErrNotFound) {
			t.Errorf("error %v, want %q wrapping ErrNotFound", c.err, c.want)
		}
	}
}

// TestGetStaysLocked: an item still locked after one unlock is ErrLocked
// at once. A second Unlock would be a second dialog whose answer could not
// change the outcome.
func TestGetStaysLocked(t *testing.T) {
	f, conn := startFake(t)
	b := openFake(t, conn)
	ctx := testContext(t, 5*time.Second)
	f.add(t, b.itemAttributes("x"), "v")
	f.set(func(f *fakeService) { f.stuck = true })
	before := len(f.called())
	if _, err := b.Get(ctx, "x"); !errors.Is(err, backends.ErrLocked) {
		t.Fatalf("Get of an item that stays locked: %v, want ErrLocked", err)
	}
	calls := f.called()[before:]
	if n := len(slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return c != "Unlock" })); n != 1 {
		t.Fatalf("Get called %q: Unlock %d times, want once", calls, n)
	}
}
