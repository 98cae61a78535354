package dpapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/kr-keyring/kr/backends"
)

// writerComment is the Comment kr gives its credentials, so that `kr ls -l`
// tells them from go-keyring's, which have the same target, user name and
// blob but no comment.
const writerComment = "kr"

// credInfo is what Credential Manager says about a credential besides its
// blob.
type credInfo struct {
	target   string
	comment  string
	modified time.Time // LastWritten
}

// credDescriber is a credStore that can describe its credentials.
type credDescriber interface {
	describe(prefix string) ([]credInfo, error)
}

var _ backends.Lister = (*Backend)(nil)

// ListInfo describes the service's credentials under prefix from one
// enumeration: LastWritten, and kr as the writer where the comment says so.
// Sealed values stay sealed.
func (b *Backend) ListInfo(ctx context.Context, prefix string) ([]backends.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d, ok := b.creds.(credDescriber)
	if !ok {
		return nil, nil
	}
	creds, err := d.describe(b.service + ":")
	if err != nil {
		return nil, fmt.Errorf("describe items: %w", err)
	}
	var out []backends.Info
	for _, c := range creds {
		name, ok := strings.CutPrefix(c.target, b.service+":")
		if !ok || !strings.HasPrefix(name, prefix) || backends.ValidateName(name) != nil {
			continue
		}
		in := backends.Info{Name: name, Modified: c.modified}
		if c.comment == writerComment {
			in.Writer = "kr"
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
