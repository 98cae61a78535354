package format

import (
	"errors"
	"fmt"
	"slices"
)

// MergeKeys is the three-way merge of two recipient lists: a recipient
// added on either side is kept, one removed on either side goes (a removal
// is a revocation). The result has upstream's order, then what only local
// added.
func MergeKeys(base, upstream, local []string) []string {
	gone := func(k string) bool {
		return slices.Contains(base, k) && (!slices.Contains(upstream, k) || !slices.Contains(local, k))
	}
	var out []string
	for _, k := range append(slices.Clone(upstream), local...) {
		if !gone(k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// MergeManifest merges vault.json changed in two clones (base is the
// common version, nil when there is none) by recipient, as MergeKeys does.
// Names follow upstream where both name a key; a name upstream gave
// another key gets a suffix on the local side.
func MergeManifest(base, upstream, local []byte) ([]byte, error) {
	if upstream == nil || local == nil {
		return nil, fmt.Errorf("%s was deleted in one clone: restore it from history ('git log -- %s') and sync again", ManifestFile, ManifestFile)
	}
	u, err := ParseManifest(upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %w", err)
	}
	l, err := ParseManifest(local)
	if err != nil {
		return nil, fmt.Errorf("local %w", err)
	}
	b := &Manifest{Version: u.Version, Identity: u.Identity}
	if base != nil {
		if b, err = ParseManifest(base); err != nil {
			return nil, fmt.Errorf("merge base's %w", err)
		}
	}
	if u.Version != l.Version || u.Identity != l.Identity || b.Version != u.Version || b.Identity != u.Identity {
		return nil, fmt.Errorf("%s changed its format or identity in one clone: merge it by hand", ManifestFile)
	}
	if u.Signed() {
		if u.VaultID != l.VaultID || (base != nil && b.VaultID != u.VaultID) {
			return nil, fmt.Errorf("%s names another vault id in one clone: merge it by hand", ManifestFile)
		}
		// A side older than the merge base is a rolled-back list: taken
		// as it is, a member removed since would come back as "added".
		if base != nil && (u.Epoch < b.Epoch || l.Epoch < b.Epoch) {
			return nil, fmt.Errorf("%s: one side's membership epoch (%d, %d) is older than the merge base's (%d): a rolled-back member list; check the upstream history", ManifestFile, u.Epoch, l.Epoch, b.Epoch)
		}
	}
	out := u.Clone()
	out.Recipients = MergeKeys(b.Recipients, u.Recipients, l.Recipients)
	if u.Signed() {
		// Each entry keeps its signature; the list is signed afresh, at a
		// new epoch, by the member who runs the sync (filevault's
		// reconcile), for neither side signed this list.
		out.Epoch = max(u.Epoch, l.Epoch) + 1
		out.SignedBy, out.Signature = "", nil
		for _, k := range out.Recipients {
			if _, ok := u.Entries[k]; !ok {
				out.Entries[k] = l.Entries[k]
			}
		}
		for k := range out.Entries {
			if !slices.Contains(out.Recipients, k) {
				delete(out.Entries, k)
			}
		}
	}
	out.Names = map[string]string{}
	for _, k := range out.Recipients {
		if n := u.Name(k); n != "" {
			out.Names[k] = n
		}
	}
	for _, k := range out.Recipients {
		n := l.Name(k)
		if n == "" || out.Names[k] != "" {
			continue
		}
		if _, taken := out.KeyOf(n); taken && u.Signed() {
			// A signed entry's name is signed: no suffix can be added.
			return nil, fmt.Errorf("%s: both clones added a member called %s: remove one ('kr vault recipients rm') and sync again", ManifestFile, n)
		}
		for i := 2; ; i++ {
			if _, taken := out.KeyOf(n); !taken {
				break
			}
			n = fmt.Sprintf("%s-%d", l.Name(k), i)
		}
		// A suffix that makes the name too long leaves the key unnamed
		// (shown by its fingerprint) rather than vault.json unreadable.
		if ValidMemberName(n) == nil {
			out.Names[k] = n
		}
	}
	if len(out.Recipients) == 0 {
		return nil, errors.New("the clones removed every recipient between them")
	}
	return out.Marshal()
}
