package cli

import (
	"slices"
	"testing"
)

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		argv, want []string
	}{
		{[]string{"kr", "get", "x"}, []string{"get", "x"}},
		{[]string{"/usr/local/bin/git-credential-kr", "get"}, []string{"git-credential", "get"}},
		{[]string{`C:\bin\Docker-Credential-KR.exe`, "list"}, []string{"docker-credential", "list"}},
		{[]string{"git-credential-krx", "get"}, []string{"get"}},
		{nil, nil},
	} {
		if got := commandLine(tc.argv); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %q, want %q", tc.argv, got, tc.want)
		}
	}
}
