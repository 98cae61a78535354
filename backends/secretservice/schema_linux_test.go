package secretservice

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/internal/testenv"
)

// TestSchemaItems stores, finds, replaces, reads and deletes items of a
// schema of the test's own on the real gnome-keyring, and checks that
// secret-tool (libsecret) sees the same items.
func TestSchemaItems(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testContext(t, 20*time.Second)
	schema := "org.kr.Test." + freshService(t)
	attrs := map[string]string{AttrSchema: schema, "server": "example.org", "user": "alice"}

	if _, err := b.SearchSchema(ctx, map[string]string{"server": "example.org"}); !errors.Is(err, errNoSchema) {
		t.Fatalf("SearchSchema without %s = %v, want errNoSchema", AttrSchema, err)
	}
	if err := b.StoreSchema(ctx, "x", map[string]string{"server": "example.org"}, []byte("v")); !errors.Is(err, errNoSchema) {
		t.Fatalf("StoreSchema without %s = %v, want errNoSchema", AttrSchema, err)
	}
	if items, err := b.SearchSchema(ctx, attrs); err != nil || len(items) != 0 {
		t.Fatalf("SearchSchema before any store = %v, %v; want none", items, err)
	}

	if err := b.StoreSchema(ctx, "Test: first", attrs, []byte("one")); err != nil {
		t.Fatal(err)
	}
	// A more specific item (one more attribute) must survive a replace of
	// the general one.
	specific := maps.Clone(attrs)
	specific["object"] = "repo.git"
	if err := b.StoreSchema(ctx, "Test: specific", specific, []byte("specific")); err != nil {
		t.Fatal(err)
	}
	if err := b.StoreSchema(ctx, "Test: second", attrs, []byte("two")); err != nil {
		t.Fatal(err)
	}

	items, err := b.SearchSchema(ctx, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("SearchSchema = %+v; want the replaced item and the specific one", items)
	}
	var general, special *SchemaItem
	for i := range items {
		switch {
		case maps.Equal(items[i].Attributes, attrs):
			general = &items[i]
		case maps.Equal(items[i].Attributes, specific):
			special = &items[i]
		}
	}
	if general == nil || special == nil {
		t.Fatalf("SearchSchema = %+v; want one item with exactly %v and one with %v", items, attrs, specific)
	}
	if general.Label != "Test: second" || general.Modified.IsZero() {
		t.Errorf("replaced item = %+v; want label %q and a modification time", general, "Test: second")
	}
	for it, want := range map[*SchemaItem]string{general: "two", special: "specific"} {
		got, err := b.SchemaSecret(ctx, it.Path)
		if err != nil || string(got) != want {
			t.Errorf("SchemaSecret(%s) = %q, %v; want %q", it.Path, got, err, want)
		}
	}

	// libsecret's own client reads what StoreSchema wrote, and kr finds
	// what it writes.
	needDaemon(t)
	tool := testenv.Tool(t, "secret-tool", "libsecret-tools")
	out := run(t, nil, tool, "lookup", AttrSchema, schema, "server", "example.org", "user", "alice", "object", "repo.git")
	if !bytes.Equal(out, []byte("specific")) {
		t.Errorf("secret-tool lookup = %q, want %q", out, "specific")
	}
	run(t, []byte("from tool"), tool, "store", "--label=tool", AttrSchema, schema, "server", "tool.example.org", "user", "bob")
	toolItems, err := b.SearchSchema(ctx, map[string]string{AttrSchema: schema, "server": "tool.example.org"})
	if err != nil || len(toolItems) != 1 || toolItems[0].Attributes["user"] != "bob" {
		t.Fatalf("SearchSchema for secret-tool's item = %+v, %v", toolItems, err)
	}
	if got, err := b.SchemaSecret(ctx, toolItems[0].Path); err != nil || string(got) != "from tool" {
		t.Errorf("SchemaSecret(secret-tool's item) = %q, %v", got, err)
	}

	if err := b.DeleteSchema(ctx, general.Path); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteSchema(ctx, general.Path); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("DeleteSchema of a deleted item = %v, want ErrNotFound", err)
	}
	if _, err := b.SchemaSecret(ctx, general.Path); !errors.Is(err, backends.ErrNotFound) {
		t.Errorf("SchemaSecret of a deleted item = %v, want ErrNotFound", err)
	}
	items, err = b.SearchSchema(ctx, attrs)
	if err != nil || len(items) != 1 || items[0].Path != special.Path {
		t.Errorf("SearchSchema after delete = %+v, %v; want only the specific item", items, err)
	}
}

// TestSchemaNewestFirst: matches come newest first, ties broken by the
// greatest path, as Get chooses.
func TestSchemaNewestFirst(t *testing.T) {
	b := openTest(t, Options{})
	ctx := testContext(t, 20*time.Second)
	schema := "org.kr.Test." + freshService(t)
	old := map[string]string{AttrSchema: schema, "server": "h", "port": "1"}
	newer := map[string]string{AttrSchema: schema, "server": "h", "port": "2"}
	if err := b.StoreSchema(ctx, "old", old, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := b.StoreSchema(ctx, "new", newer, []byte("new")); err != nil {
		t.Fatal(err)
	}
	// gnome-keyring's Modified has one-second resolution, so both may have
	// the same time: the order is checked, not which one is first.
	items, err := b.SearchSchema(ctx, map[string]string{AttrSchema: schema, "server": "h"})
	if err != nil || len(items) != 2 {
		t.Fatalf("SearchSchema = %+v, %v", items, err)
	}
	if items[0].Modified.Before(items[1].Modified) {
		t.Errorf("SearchSchema order = %+v; newest must come first", items)
	}
	if items[0].Modified.Equal(items[1].Modified) && items[0].Path < items[1].Path {
		t.Errorf("SearchSchema order = %+v; ties must go to the greatest path", items)
	}
}

// TestSchemaLocked: on a locked keyring with no prompter, SearchSchema and
// StoreSchema say locked (or canceled), never "no items".
func TestSchemaLocked(t *testing.T) {
	addr, _ := privateKeyring(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b, err := Open(testContext(t, 5*time.Second), Options{Conn: conn, Service: freshService(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := testContext(t, 10*time.Second)
	attrs := map[string]string{AttrSchema: "org.kr.Test.locked", "server": "h"}
	if err := b.StoreSchema(ctx, "locked", attrs, []byte("v")); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".Lock", []dbus.ObjectPath{loginCollection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	for name, op := range map[string]func(context.Context) error{
		"SearchSchema": func(c context.Context) error {
			items, err := b.SearchSchema(c, attrs)
			if err == nil {
				t.Errorf("SearchSchema on a locked keyring = %+v", items)
			}
			return err
		},
		"SearchSchemaAbsent": func(c context.Context) error {
			_, err := b.SearchSchema(c, map[string]string{AttrSchema: "org.kr.Test.locked", "server": "absent"})
			return err
		},
		"StoreSchema": func(c context.Context) error { return b.StoreSchema(c, "x", attrs, []byte("w")) },
	} {
		t.Run(name, func(t *testing.T) {
			c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := op(c); !errors.Is(err, backends.ErrLocked) && !errors.Is(err, backends.ErrCanceled) {
				t.Fatalf("%s on a locked keyring: %v, want ErrLocked or ErrCanceled", name, err)
			}
		})
	}
}
