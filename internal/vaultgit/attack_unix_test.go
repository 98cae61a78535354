//go:build !windows

package vaultgit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An upstream commit that turns the vault's .gitattributes or .gitignore
// into a symlink to a file of the victim's (~/.ssh/id_ed25519) must not
// make sync read that file and push its content back as the new
// .gitattributes or .gitignore.
func TestSyncSymlinkedDotfileIsNotFollowed(t *testing.T) {
	for _, name := range []string{".gitattributes", ".gitignore"} {
		t.Run(name, func(t *testing.T) {
			tm := newTeam(t, "")
			victim := tm.founded()
			o := opts(victim)
			o.Ignore = []string{"/.lock"}
			syncOpts(t, o)
			private := filepath.Join(t.TempDir(), "id_ed25519")
			key := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-material\n")
			if err := os.WriteFile(private, key, 0o600); err != nil {
				t.Fatal(err)
			}

			attacker := tm.clone()
			p := filepath.Join(attacker, name)
			os.Remove(p)
			if err := os.Symlink(private, p); err != nil {
				t.Fatal(err)
			}
			gitT(t, attacker, "add", "-A", "--", name)
			gitT(t, attacker, "commit", "-q", "-m", "evil")
			gitT(t, attacker, "push", "-q")

			// The first sync brings the symlink, the second would follow it.
			syncOpts(t, o)
			if _, err := Sync(t.Context(), o); err == nil || !strings.Contains(err.Error(), name+" is a symlink") {
				t.Errorf("second sync: %v, want a refusal of the symlink", err)
			}
			for _, f := range []string{".gitattributes", ".gitignore"} {
				// The remote's blob, not a checkout that would follow the link.
				b, _ := gitErr(tm.remote, "cat-file", "blob", "HEAD:"+f)
				if strings.Contains(b, "secret-key-material") {
					t.Errorf("the remote's %s holds the victim's file:\n%s", f, b)
				}
			}
			if b, _ := os.ReadFile(private); !bytes.Equal(b, key) {
				t.Errorf("the victim's file was changed: %q", b)
			}
		})
	}
}

// An upstream commit that replaces a folder of secrets with a symlink to a
// folder of the victim's, while the victim changed a secret in that
// folder, must not make sync write the conflict copy (or remove anything)
// through the link.
func TestSyncConflictNotWrittenThroughSymlinkedFolder(t *testing.T) {
	tm := newTeam(t, "")
	victim := tm.founded()
	write(t, victim, "secrets/db/prod.age", blob(t))
	syncT(t, victim)
	outside := t.TempDir()

	attacker := tm.clone()
	gitT(t, attacker, "rm", "-q", "-r", "secrets/db")
	os.MkdirAll(filepath.Join(attacker, "secrets"), 0o700)
	if err := os.Symlink(outside, filepath.Join(attacker, "secrets", "db")); err != nil {
		t.Fatal(err)
	}
	gitT(t, attacker, "add", "-A", "--", "secrets")
	gitT(t, attacker, "commit", "-q", "-m", "evil")
	gitT(t, attacker, "push", "-q")

	write(t, victim, "secrets/db/prod.age", blob(t))
	_, err := Sync(t.Context(), opts(victim))
	t.Logf("sync: %v", err)
	entries, _ := os.ReadDir(outside)
	for _, e := range entries {
		t.Errorf("sync wrote %s outside the vault", e.Name())
	}
}

// A temp file of kr's that someone committed (git add -f, or a clone
// without the vault's .gitignore) is deleted by the next kr that writes
// its folder. Sync must not then fail for ever on "unstaged changes" that
// its own exclusion keeps it from committing: the file stops being tracked.
func TestSyncUntracksCommittedTempFile(t *testing.T) {
	tm := newTeam(t, "")
	victim := tm.founded()
	other := tm.clone()
	write(t, other, "secrets/.kr-tmp-0123", []byte("x"))
	gitT(t, other, "add", "-f", "--", "secrets/.kr-tmp-0123")
	gitT(t, other, "commit", "-q", "-m", "careless")
	gitT(t, other, "push", "-q")
	syncT(t, victim)
	remove(t, victim, "secrets/.kr-tmp-0123") // cleanStaleTemps
	write(t, other, "secrets/y.age", blob(t))
	gitT(t, other, "add", "-A")
	gitT(t, other, "commit", "-q", "-m", "more")
	gitT(t, other, "push", "-q")

	x := blob(t)
	write(t, victim, "secrets/x.age", x)
	rep, err := Sync(t.Context(), opts(victim))
	if err != nil || !rep.Pushed {
		t.Fatalf("sync: %+v, %v", rep, err)
	}
	if got := gitT(t, tm.remote, "ls-tree", "-r", "--name-only", "HEAD"); strings.Contains(got, ".kr-tmp-") {
		t.Errorf("the remote still tracks the temp file:\n%s", got)
	}
	check := tm.clone()
	wantBytes(t, check, "secrets/x.age", x)
	clean(t, victim)
}
