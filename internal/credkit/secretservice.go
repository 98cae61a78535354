package credkit

import (
	"context"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends/secretservice"
)

// SchemaStore is a Secret Service's raw items, as the helpers' layouts
// reach them: searched by attributes (xdg:schema among them), read and
// deleted by object path, stored by label and attributes (replacing the
// item with exactly those attributes). *secretservice.Backend is one.
type SchemaStore interface {
	SearchSchema(ctx context.Context, attrs map[string]string) ([]secretservice.SchemaItem, error)
	// SchemaSecret returns the item's value, for the caller to wipe; an
	// item deleted meanwhile wraps backends.ErrNotFound.
	SchemaSecret(ctx context.Context, path dbus.ObjectPath) ([]byte, error)
	StoreSchema(ctx context.Context, label string, attrs map[string]string, value []byte) error
	DeleteSchema(ctx context.Context, path dbus.ObjectPath) error
}

var _ SchemaStore = (*secretservice.Backend)(nil)
