package execenv

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func TestWindowsExts(t *testing.T) {
	cases := []struct {
		file, pathext string
		want          []string
	}{
		{"cmd", "", []string{".com", ".exe", ".bat", ".cmd"}},
		{"cmd.exe", "", []string{""}},
		{"tool.PS1", ".EXE;.PS1", []string{""}},
		{"tool", ".EXE; .Ps1 ;;bad", []string{".exe", ".ps1"}},
		{"my.app", ".EXE", []string{".exe"}},
	}
	for _, c := range cases {
		env := []string{"Path=x"}
		if c.pathext != "" {
			env = append(env, "PathExt="+c.pathext)
		}
		if got := windowsExts(c.file, env); !slices.Equal(got, c.want) {
			t.Errorf("windowsExts(%q, %q) = %q, want %q", c.file, c.pathext, got, c.want)
		}
	}
}

// LookPath searches the child's PATH, not kr's.
func TestLookPathUsesChildPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("executable bits")
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "kr-test-prog")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "not-exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LookPath("kr-test-prog", []string{"PATH=/nonexistent:" + dir})
	if err != nil || got != prog {
		t.Fatalf("LookPath = %q, %v; want %q", got, err, prog)
	}
	for _, name := range []string{"kr-test-prog-missing", "not-exec"} {
		if _, err := LookPath(name, []string{"PATH=" + dir}); !errors.Is(err, ErrNotFound) {
			t.Errorf("LookPath(%q) error = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := LookPath("kr-test-prog", []string{"PATH="}); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty PATH: error = %v, want ErrNotFound", err)
	}
}
