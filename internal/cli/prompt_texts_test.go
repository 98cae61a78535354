package cli

import (
	"strings"
	"testing"
)

// TestPromptTexts: every prompt of get, unlock, passwd, recover, identity
// and set says what it is for; those that unlock name the vault, its key
// and the program that asked (git for git's helper), and none is a bare
// "Vault passphrase:". Run with -v, it shows each transcript.
func TestPromptTexts(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir()) // kr identity creates one there
	parent, _ := parentProgram()
	fp := ", key [0-9a-f]{4}"
	cases := []struct {
		name    string
		before  []string // run first, with before's stdin
		args    []string
		stdin   string
		answers []string
		env     map[string]string
		want    []string
	}{
		{"get", nil, []string{"get", "a"}, "", []string{"pw"}, nil,
			[]string{"kr: " + parent + " (pid ", " asks for the secret a from the vault VAULT" + fp, "Passphrase of that vault: "}},
		{"git", []string{"git-credential", "store"}, []string{"git-credential", "get"}, "protocol=https\nhost=example.com\nusername=alice\n\n", []string{"pw"}, nil,
			[]string{"kr: git asks for the secret ", "example.com", " from the vault VAULT" + fp, "Passphrase of that vault: "}},
		{"unlock", nil, []string{"unlock"}, "", []string{"pw"}, nil,
			[]string{"kr: " + parent + " (pid ", " asks to unlock the vault VAULT" + fp, "in the agent for 15m0s\n", "Passphrase of that vault: "}},
		{"passwd", nil, []string{"passwd"}, "", []string{"pw", "new", "new"}, nil,
			[]string{" asks to change the passphrase of the vault VAULT" + fp, "Current passphrase of that vault: ", "New vault passphrase: ", "Repeat the new passphrase: "}},
		{"recover", nil, []string{"recover"}, "", []string{"AAAA-BBBB", "x", "x"}, nil,
			[]string{" asks to recover the vault VAULT" + fp, "Recovery code of that vault: "}},
		{"identity", nil, []string{"identity"}, "", []string{"idpw", "idpw"}, nil,
			[]string{" asks to create your identity in ", "New identity passphrase: ", "Repeat the identity passphrase: "}},
		{"set", nil, []string{"set", "b"}, "", []string{"v", "v"}, nil,
			[]string{"Value for b: ", "Repeat the value: "}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newVaultEnv(t, c.env)
			e.app.scryptWorkFactor = 10
			if c.before != nil {
				e.app.IO.In = strings.NewReader(strings.Replace(c.stdin, "\n\n", "\npassword=s3cret\n\n", 1))
				if code := e.run(c.before...); code != 0 {
					t.Fatalf("%v: exit %d: %s", c.before, code, e.err.String())
				}
				e.app.IO.In = strings.NewReader(c.stdin)
			}
			e.app.IO.In = strings.NewReader(c.stdin)
			e.term.answers = c.answers
			e.run(c.args...)
			shown := e.term.shown.String()
			t.Logf("%s:\n%s", c.name, shown)
			for _, w := range c.want {
				w = strings.ReplaceAll(w, "VAULT", e.app.VaultDir)
				if !matches(w, shown) {
					t.Errorf("%q not shown; the terminal showed:\n%s", w, shown)
				}
			}
			if strings.Contains(shown, "Vault passphrase:") {
				t.Errorf("a bare vault passphrase prompt:\n%s", shown)
			}
		})
	}
}

// matches is strings.Contains, where w's ", key [0-9a-f]{4}" stands for a
// key's fingerprint.
func matches(w, s string) bool {
	before, _, ok := strings.Cut(w, ", key [0-9a-f]{4}")
	if !ok {
		return strings.Contains(s, w)
	}
	i := strings.Index(s, before+", key ")
	if i < 0 {
		return false
	}
	fp := s[i+len(before)+len(", key "):]
	return len(fp) >= 19 && fp[4] == ':' && fp[9] == ':' && fp[14] == ':'
}
