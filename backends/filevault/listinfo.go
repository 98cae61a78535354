package filevault

import (
	"context"
	"fmt"
	"os"

	"github.com/kr-keyring/kr/backends"
)

var _ backends.Lister = (*Vault)(nil)

// ListInfo describes the names List returns: each file's modification time
// (the last Set), and kr as the writer, since only kr writes a vault's
// files. Nothing is decrypted.
func (v *Vault) ListInfo(ctx context.Context, prefix string) ([]backends.Info, error) {
	names, err := v.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make([]backends.Info, 0, len(names))
	for _, n := range names {
		fi, err := os.Lstat(v.secretPath(n))
		if os.IsNotExist(err) {
			continue // removed since the walk
		}
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", n, err)
		}
		out = append(out, backends.Info{Name: n, Modified: fi.ModTime(), Writer: "kr"})
	}
	return out, nil
}
