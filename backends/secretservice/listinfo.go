package secretservice

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/kr-keyring/kr/backends"
)

var _ backends.Lister = (*Backend)(nil)

// ListInfo describes the service's items under prefix from one SearchItems
// and their properties (Label, Attributes, Modified): no unlock, no prompt,
// no secret read. Items of a locked collection whose properties the service
// withholds are left out; where a name has several items, the newest
// speaks for it, as in Get.
func (b *Backend) ListInfo(ctx context.Context, prefix string) (_ []backends.Info, err error) {
	ctx, end := waitForService(ctx)
	defer func() { err = end(err) }()
	var unlocked, locked []dbus.ObjectPath
	if err := b.call(ctx, servicePath, ifaceService+".SearchItems", map[string]string{attrService: b.service}).Store(&unlocked, &locked); err != nil {
		return nil, fmt.Errorf("describe items: search: %w", err)
	}
	items := append(unlocked, locked...)
	calls := make([]*dbus.Call, len(items))
	for i, item := range items {
		// Sent together, awaited together, as in List.
		calls[i] = b.conn.Object(busName, item).GoWithContext(ctx, ifaceProperties+".GetAll", 0, make(chan *dbus.Call, 1), ifaceItem)
	}
	newest := map[string]uint64{}
	infos := map[string]backends.Info{}
	for _, c := range calls {
		<-c.Done
		var props map[string]dbus.Variant
		if err := c.Store(&props); err != nil {
			if isContextErr(err) {
				return nil, fmt.Errorf("describe items: %w", err)
			}
			continue // gone since the search, or locked: not described
		}
		attrs, _ := props["Attributes"].Value().(map[string]string)
		label, _ := props["Label"].Value().(string)
		modified, _ := props["Modified"].Value().(uint64)
		name, ok := krName(attrs, b.service, prefix)
		if !ok {
			continue
		}
		if t, seen := newest[name]; seen && t > modified {
			continue
		}
		in := backends.Info{Name: name, Writer: writerOf(name, b.service, label, attrs)}
		if modified > 0 {
			in.Modified = time.Unix(int64(modified), 0)
		}
		newest[name], infos[name] = modified, in
	}
	out := make([]backends.Info, 0, len(infos))
	for _, in := range infos {
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// writerOf tells which tool wrote an item from what each one leaves on it:
// kr its label "NAME (kr)", Python keyring an application attribute,
// zalando/go-keyring its label "Password for 'NAME' on 'SERVICE'";
// secret-tool writes the attributes it is given and the label the user
// typed, so an item with only kr's two attributes and another label is
// taken for secret-tool's. gnome-keyring sometimes adds the generic
// schema's xdg:schema to any of these, which says nothing about the
// writer. "" when none fits (an item with more attributes, such as another
// libsecret schema's).
func writerOf(name, service, label string, attrs map[string]string) string {
	n := len(attrs)
	if attrs[AttrSchema] == "org.freedesktop.Secret.Generic" {
		n--
	}
	onlyOurs := n == 2 && attrs[attrService] == service && attrs[attrUsername] == name
	switch {
	case label == name+labelSuffix:
		return "kr"
	case strings.HasPrefix(attrs["application"], "Python keyring"):
		return "python-keyring"
	case onlyOurs && label == fmt.Sprintf("Password for '%s' on '%s'", name, service):
		return "go-keyring"
	case onlyOurs:
		return "secret-tool"
	}
	return ""
}
