package cli

import (
	"context"
	"errors"
	"time"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/vaultgit"
)

// damageLookup bounds the git log that names where a damaged secret came
// from: an error is on its way out, and a slow repository must not hold
// it.
const damageLookup = 5 * time.Second

// traceDamage adds, to an error about a damaged secret file of a vault in
// a git work tree, the commit that last changed that file: a pusher's
// truncated or mangled file, or one bad merge, is then named. Only a
// failed read gets here; a good one never runs git.
func (a *App) traceDamage(ctx context.Context, err error) error {
	var de *filevault.DamagedError
	var re *filevault.RefusedError
	var path string
	switch {
	case errors.As(err, &de):
		path = de.Path
	case errors.As(err, &re):
		path = re.Path
	default:
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, damageLookup)
	defer cancel()
	c, ok := vaultgit.LastChange(ctx, path)
	if !ok {
		return err
	}
	return withHint(err, "the file was last changed in commit %s by %s (%q); 'git log -p' on it in the vault shows its history",
		c.Commit, c.Author, c.Subject)
}
