package cli

import (
	"strings"
	"testing"
)

func TestActiveGitHelpers(t *testing.T) {
	out := strings.Join([]string{
		"system", "file:/etc/gitconfig", "credential.helper\nstore",
		"system", "file:/etc/gitconfig", "credential.https://a.example.helper\ncache --timeout=1",
		"global", "file:/h/.gitconfig", "credential.helper\n",
		"global", "file:/h/inc", "credential.https://b.example.helper\n!git credential-store --file x",
		"global", "file:/h/.gitconfig", "credential.https://b.example.helper\n",
		"global", "file:/h/.gitconfig", "credential.helper\nkr",
		"global", "file:/h/.gitconfig", "credential.helper",
		"local", "file:.git/config", "credential.helper\nstore",
		"",
	}, "\x00")
	hs := parseGitHelpers([]byte(out))
	if len(hs) != 7 || hs[1].URL != "https://a.example" || hs[1].Value != "cache --timeout=1" || hs[2].Value != "" {
		t.Fatalf("parsed %+v", hs)
	}
	var got []string
	for _, h := range activeHelpers(hs) {
		got = append(got, h.String())
	}
	// The global reset empties everything before it, b.example's reset its
	// own line; the repository's line is not user-wide.
	if want := `credential.helper "kr" (global, /h/.gitconfig)`; strings.Join(got, "|") != want {
		t.Fatalf("active: %q, want %q", got, want)
	}
	for v, want := range map[string]bool{
		"store": true, "store --file ~/x": true, "cache --timeout=60": true,
		"/usr/lib/git-core/git-credential-store": true, "!git credential-cache": true,
		"kr": false, "libsecret": false, "manager": false, "storage": false,
	} {
		if (gitHelper{Value: v}).plaintext() != want {
			t.Errorf("plaintext(%q) != %v", v, want)
		}
	}
}
