package cli

// kr vault join: clone a shared vault and accept the one key the user
// checked, so that a fresh clone starts by trusting that key and no other.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/internal/vaultgit"
)

func newJoinCmd(app *App) *cobra.Command {
	var trust, mountAt string
	c := &cobra.Command{
		Use:   "join URL DIR --trust KEY|FINGERPRINT",
		Short: "Clone a shared vault and accept the one member you checked",
		Long: `Clone the git repository at URL into DIR (git clone) and accept, among the
vault's recipients, the one --trust names: an age1 key or a fingerprint you
compared with its owner (over a call, in person). Every other member is
listed as pending: kr writes nothing to the vault until you accept them too
('kr vault recipients accept'), because whoever can push to the repository
can put a key of their own in vault.json. Your own key needs no word.
With --mount PREFIX the clone is mounted there as it is made ('kr mount'):
names under PREFIX/ then live in it. --timeout defaults to 5m here, as for
sync.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trust == "" {
				return usagef("--trust is required: the key or fingerprint of a member you checked")
			}
			url, dir := args[0], args[1]
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if _, err := os.Lstat(abs); !errors.Is(err, fs.ErrNotExist) {
				if err == nil {
					err = errors.New("it exists")
				}
				return withHint(fmt.Errorf("join: %s: %w", abs, err), "name a directory that does not exist yet; the clone goes there")
			}
			if mountAt != "" {
				// Before the clone: a mount that cannot be made should
				// leave nothing half done.
				ctx, cancel := app.context(cmd.Context())
				mountAt, err = app.checkMount(ctx, mountAt, abs)
				cancel()
				if err != nil {
					return err
				}
			}
			parent := cmd.Context()
			var cancel context.CancelFunc
			if cmd.Flags().Changed("timeout") || app.Getenv("KR_TIMEOUT") != "" {
				parent, cancel = app.context(parent)
			} else {
				parent, cancel = context.WithTimeout(parent, syncTimeout)
			}
			defer cancel()
			if err := vaultgit.Clone(parent, url, abs, app.IO.ErrOut); err != nil {
				return fmt.Errorf("join: %w", err)
			}
			members, err := app.joinClone(abs, trust)
			if err != nil {
				// The clone is of no use untrusted: take it back, so that
				// the same command can run again.
				if rmErr := os.RemoveAll(abs); rmErr != nil {
					return fmt.Errorf("%w (and removing the clone %s: %v)", err, abs, rmErr)
				}
				return err
			}
			if err := app.reportJoin(cmd.Context(), abs, members); err != nil {
				return err
			}
			if mountAt != "" {
				return app.mount(parent, mountAt, abs)
			}
			return nil
		},
	}
	c.Flags().StringVar(&trust, "trust", "", "the age1 key or fingerprint of a member you checked with its owner")
	c.Flags().StringVar(&mountAt, "mount", "", "mount the clone at this prefix ('kr mount')")
	return c
}

// joinClone accepts, in the fresh clone dir, the recipient trust names.
func (a *App) joinClone(dir, trust string) ([]filevault.Member, error) {
	v, err := a.openVault(dir, true, false)
	if err != nil {
		return nil, err
	}
	if !v.Exists() {
		return nil, withHint(fmt.Errorf("join: the repository holds no vault (no vault.json at its top)"), "ask for the repository of a vault made with 'kr vault init'")
	}
	// git checks files out with the user's umask; 002 would leave the
	// vault group-writable, which kr refuses.
	if err := filevault.TightenModes(dir); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	all, err := v.Members()
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	key, err := matchRecipient(all, trust, dir)
	if err != nil {
		return nil, err
	}
	rec, err := recipients.Default(a.Getenv)
	if err != nil {
		return nil, err
	}
	if err := rec.Accept(dir, key); err != nil {
		return nil, err
	}
	return all, nil
}

// reportJoin lists the members of the joined vault as recipients ls does,
// and says what is left to accept.
func (a *App) reportJoin(ctx context.Context, dir string, all []filevault.Member) error {
	v, err := a.openVault(dir, true, false)
	if err != nil {
		return err
	}
	pending, err := v.UnacceptedRecipients()
	if err != nil {
		return err
	}
	mine := a.myKeys(ctx, v)
	for _, m := range all {
		state := "accepted"
		if slices.Contains(pending, m.Key) {
			state = "pending"
		}
		if slices.Contains(mine, m.Key) {
			state += "  you"
		}
		if _, err := fmt.Fprintf(a.stdout(), "%s  %s  %s  %s\n", memberName(m.Name), recipients.Fingerprint(m.Key), m.Key, state); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.IO.ErrOut, "kr: joined %s\n", dir)
	if len(pending) > 0 {
		fmt.Fprintf(a.IO.ErrOut, "kr: %s pending: kr writes nothing to this vault until you accept them\nkr: hint: check each fingerprint with its owner, then 'kr vault recipients accept NAME|FINGERPRINT'\n", plural(len(pending), "member"))
	}
	if !slices.ContainsFunc(all, func(m filevault.Member) bool { return slices.Contains(mine, m.Key) }) {
		fmt.Fprintf(a.IO.ErrOut, "kr: you are not a member yet: send a member your key ('kr identity') to be added\n")
	}
	return nil
}
