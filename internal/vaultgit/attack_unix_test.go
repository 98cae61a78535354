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
