package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestReadmeFirstLine runs the README's first command twice in one shell,
// as a new user pastes it, in a copy of the module: each run shows the
// child its secret, and afterwards the shell holds no KR_ variable, so the
// next kr set goes to the user's own store, not the demo's throwaway vault
// under a demo passphrase.
func TestReadmeFirstLine(t *testing.T) {
	if runtime.GOOS != "linux" {
		// The line is for a POSIX shell; the store a later kr set picks
		// by default is the file vault only where no OS store answers.
		t.Skip("the README's first line is checked on Linux")
	}
	bash := testenv.Tool(t, "bash", "bash")
	testenv.Tool(t, "go", "golang")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[2], "    ") || lines[3] != "    go test ./..." {
		t.Fatalf("the README does not open with its two commands:\n%s", strings.Join(lines[:4], "\n"))
	}
	first := strings.TrimPrefix(lines[2], "    ")

	mod := t.TempDir()
	copyModule(t, filepath.Join("..", ".."), mod)
	home := t.TempDir()
	script := first + "\n" + first + "\n" + `
env | grep '^KR_' | grep -v '^KR_NO_AGENT=' && echo "leaked" || echo "no KR_ variable left"
printf mine | KR_PASSPHRASE=own ./kr set later/x 2>/dev/null
ls "$XDG_DATA_HOME/kr/vault/secrets/later"
`
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir = mod
	env := []string{"HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"), "XDG_RUNTIME_DIR=" + home,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus"),
		"KR_NO_AGENT=1"} // the test's own: no agent outlives it
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KR_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "DBUS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	if n := strings.Count(got, "the child sees PGPASSWORD=s3cret"); n != 2 {
		t.Errorf("the child saw its secret %d times, want 2:\n%s", n, got)
	}
	if !strings.Contains(got, "no KR_ variable left") {
		t.Errorf("the first line left KR_ variables in the shell:\n%s", got)
	}
	if !strings.Contains(got, "x.age") {
		t.Errorf("a later kr set did not go to the user's own vault:\n%s", got)
	}
}

// copyModule copies the module's source (not .git, not build output) to dst.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch rel {
		case ".git", "dist", "man", "completions", "kr", "kr.exe":
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
