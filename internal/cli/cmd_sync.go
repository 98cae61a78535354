package cli

// kr vault sync: a vault kept in git, shared by a team or one person's
// devices. The git side is internal/vaultgit; the vault side
// (what merges how, what to re-encrypt) is filevault's.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kr-keyring/kr/backends/filevault"
	"github.com/kr-keyring/kr/internal/atomicfile"
	"github.com/kr-keyring/kr/internal/recipients"
	"github.com/kr-keyring/kr/internal/vaultgit"
	"github.com/kr-keyring/kr/internal/wait"
)

// syncTimeout bounds a sync when --timeout is not given: it talks to a
// remote, which the store timeout's 10 s does not allow for.
const syncTimeout = 5 * time.Minute

func newSyncCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "sync",
		Short: "Commit the vault, git pull --rebase, settle conflicts, re-encrypt and git push",
		Long: `Synchronise a vault kept in a git repository with its remote: commit the
vault's changes, fetch and rebase them onto the remote's (what 'git pull
--rebase' does), settle what git cannot merge, re-encrypt what must be, and
'git push'.

A secret changed in both clones keeps the upstream value; the local one becomes
the new secret NAME.conflict-N, and sync names it (unless both hold the same
value). vault.json and the scopes merge by recipient: members added on either
side are kept, a removal on either side wins. Then every secret not encrypted
to the recipients that govern it now (written while a member was added
elsewhere) is re-encrypted and pushed. A conflict on any other file, or a
failure while merging, leaves the clone as it was before the pull; a stop
after the merge (a member not accepted yet) leaves it rebased and unpushed.
No git configuration is needed in the clone; --timeout defaults to 5m here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := app.memberVault()
			if err != nil {
				return err
			}
			// git and its remote are bounded as a whole (vaultgit's commands
			// run under this deadline); the vault's lock like any wait.
			limit := syncTimeout
			if cmd.Flags().Changed("timeout") || app.Getenv("KR_TIMEOUT") != "" {
				limit = app.Timeout
			}
			parent, cancel := context.WithTimeout(cmd.Context(), limit)
			defer cancel()
			parent = wait.WithLimit(parent, limit)
			// git checks files out with the user's umask; 002 would leave
			// the vault group-writable, which kr refuses.
			if err := filevault.TightenModes(v.Dir()); err != nil {
				return fmt.Errorf("sync: %w", err)
			}
			before, err := v.Members()
			if err != nil {
				return err
			}
			shared, err := v.Shared()
			if err != nil {
				return err
			}
			var rec *filevault.Reconciled
			var rep *vaultgit.Report
			err = v.Exclusive(parent, func(l *filevault.Locked) error {
				rep, err = vaultgit.Sync(parent, vaultgit.Options{
					Dir:      v.Dir(),
					Resolver: v.Resolver(),
					Message:  "kr vault sync",
					Include:  syncedFiles(shared),
					Exclude:  []string{".lock", "**/" + atomicfile.TempPrefix + "*"},
					Ignore:   []string{"/.lock", atomicfile.TempPrefix + "*", "/bind-*"},
					AfterMerge: func(ctx context.Context) (string, error) {
						if err := filevault.TightenModes(v.Dir()); err != nil {
							return "", err
						}
						// In a signed vault nothing is pushed on top of a
						// file a read would refuse: the first one is named,
						// with its commit. An unsigned vault's files carry no
						// writer to check, so its sync does not decrypt
						// every secret first.
						if signed, err := v.Signed(); err != nil {
							return "", err
						} else if signed {
							if ver, err := l.Verify(ctx); err != nil {
								return "", err
							} else if len(ver.Problems) > 0 {
								return "", refusedBeforePush(ver)
							}
						}
						r, err := l.Reconcile(ctx)
						if err != nil {
							return "", err
						}
						rec = r
						if len(r.Reencrypted) == 0 && len(r.Scopes) == 0 {
							return "", nil
						}
						return fmt.Sprintf("kr: re-encrypt %s to their current recipients", plural(len(r.Reencrypted), "secret")), nil
					},
					Stderr: app.IO.ErrOut,
				})
				return err
			})
			// Who joined or left is news even when the sync then stops
			// (a new member not accepted yet).
			if after, merr := v.Members(); merr == nil {
				app.reportMembers(before, after)
			}
			if err != nil {
				var h hinter
				switch {
				case errors.Is(err, vaultgit.ErrNotRepository):
					return withHint(fmt.Errorf("sync: %w", err), "put the vault in git first: 'git init' in %s, or 'git clone' the team's repository and run 'kr vault init' in it", v.Dir())
				case errors.As(err, &h):
					return withHint(fmt.Errorf("sync: %w", err), "%s; then run 'kr vault sync' again", h.Hint())
				}
				return fmt.Errorf("sync: %w", err)
			}
			app.reportSync(v, rep, rec)
			return nil
		},
	}
}

// syncedFiles are the files of a vault that sync commits, named one by
// one: whatever else lies in the clone (an exported app.env, a CI key)
// never reaches the remote. A single-user vault also carries its
// identity, wrapped by its passphrase and recovery code, to the user's
// other devices.
func syncedFiles(shared bool) []string {
	files := []string{"vault.json", "secrets/**/*.age", "secrets/**/.age-recipients", ".gitattributes", ".gitignore"}
	if !shared {
		files = append(files, "identity.age", "recovery.age")
	}
	return files
}

func (a *App) reportSync(v *filevault.Vault, rep *vaultgit.Report, rec *filevault.Reconciled) {
	w := a.IO.ErrOut
	if len(rep.NotSynced) > 0 {
		fmt.Fprintf(w, "kr: not synced: %s (sync shares only the vault's own files; this is said once)\n", strings.Join(rep.NotSynced, ", "))
	}
	if len(rep.TrackedStrays) > 0 {
		fmt.Fprintf(w, "kr: not synced: %s, which git tracks from an earlier commit: kr leaves it as it is\nkr: hint: if it should not be shared, 'git rm --cached' it and commit; history keeps what was pushed\n", strings.Join(rep.TrackedStrays, ", "))
	}
	r := v.Resolver()
	for _, c := range rep.Conflicts {
		name, err := r.SecretName(c.Path)
		if err != nil {
			name = c.Path
		}
		switch {
		case c.KeptAs != "":
			kept, err := r.SecretName(c.KeptAs)
			if err != nil {
				kept = c.KeptAs
			}
			fmt.Fprintf(w, "kr: conflict on %s (%s): kept the upstream version; yours is now %s\n", name, c.Kind, kept)
			fmt.Fprintf(w, "kr: hint: compare 'kr get %s' with 'kr get %s'; 'kr mv -f %s %s' keeps yours, 'kr rm -f %s' drops it\n", name, kept, kept, name, kept)
		default:
			fmt.Fprintf(w, "kr: conflict on %s (%s): kept the upstream version\n", name, c.Kind)
		}
	}
	if rec != nil {
		for _, s := range rec.Scopes {
			fmt.Fprintf(w, "kr: scope %s/ listed removed members: dropped\n", s)
		}
		if n := len(rec.Reencrypted); n > 0 {
			fmt.Fprintf(w, "kr: re-encrypted %s to their current recipients\n", plural(n, "secret"))
		}
		if n := len(rec.Unreadable); n > 0 {
			fmt.Fprintf(w, "kr: %s not encrypted to their current recipients and you cannot read them: %s\nkr: hint: a member who can read them must run 'kr vault sync'\n", pluralIs(n, "secret"), strings.Join(rec.Unreadable, ", "))
		}
	}
	switch {
	case rep.NoRemote:
		fmt.Fprintf(w, "kr: the repository has no remote: committed locally only\n")
	case rep.Published:
		fmt.Fprintf(w, "kr: published the vault (first push)\n")
	default:
		what := "up to date"
		if rep.Pulled > 0 {
			what = "pulled " + plural(rep.Pulled, "commit")
		}
		if rep.Pushed {
			what += ", pushed"
		}
		fmt.Fprintf(w, "kr: synced %s: %s\n", v.Dir(), what)
	}
}

// reportMembers says who joined or left the vault in this sync: whoever can
// push can change the members, and a member's machine should not learn of
// it only by a stop at the next write.
func (a *App) reportMembers(before, after []filevault.Member) {
	has := func(ms []filevault.Member, key string) bool {
		return slices.ContainsFunc(ms, func(m filevault.Member) bool { return m.Key == key })
	}
	for _, m := range after {
		if !has(before, m.Key) {
			fmt.Fprintf(a.IO.ErrOut, "kr: member added: %s %s %s\n", memberName(m.Name), recipients.Fingerprint(m.Key), m.Key)
		}
	}
	for _, m := range before {
		if !has(after, m.Key) {
			fmt.Fprintf(a.IO.ErrOut, "kr: member removed: %s %s %s\n", memberName(m.Name), recipients.Fingerprint(m.Key), m.Key)
		}
		// Names are labels anyone who can push may change: a rename is
		// news, for commands take names.
		for _, n := range after {
			if n.Key == m.Key && n.Name != m.Name {
				fmt.Fprintf(a.IO.ErrOut, "kr: member renamed: %s is now %s (%s %s)\n", memberName(m.Name), memberName(n.Name), recipients.Fingerprint(m.Key), m.Key)
			}
		}
	}
}

// refusedBeforePush is the error that stops a sync on what Verify found.
func refusedBeforePush(v *filevault.Verified) error {
	err := v.Problems[0]
	if n := len(v.Problems); n > 1 {
		err = fmt.Errorf("%w (and %d more: 'kr vault verify' lists them)", err, n-1)
	}
	return withHint(err, "nothing was pushed; check the file's history with whoever made the commit, then restore it ('git checkout COMMIT -- PATH' and commit) or, if the value is right, sign it ('kr vault verify --adopt NAME')")
}
