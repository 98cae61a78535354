package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSetupWritesThroughLinks: a client's configuration file that is a
// symbolic link into a dotfiles directory stays a link; the file it points
// to gets the change and keeps its mode.
func TestSetupWritesThroughLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "docker-credential-kr"), []byte("#!/bin/sh\n"), 0o755)
	for _, c := range []struct {
		tool, file, content string
		env                 func(path string) map[string]string
		args                []string
		want                string
	}{
		{"docker", "config.json", "{}\n",
			func(p string) map[string]string {
				return map[string]string{"DOCKER_CONFIG": filepath.Dir(p), "PATH": bin}
			},
			[]string{"setup", "docker", "--apply"}, `"credsStore": "kr"`},
		{"aws", "config", "[default]\nregion = x\n",
			func(p string) map[string]string { return map[string]string{"AWS_CONFIG_FILE": p} },
			[]string{"setup", "aws", "aws/x", "--apply"}, "credential_process = "},
		{"kube", "config", "apiVersion: v1\nkind: Config\nusers: []\n",
			func(p string) map[string]string { return map[string]string{"KUBECONFIG": p} },
			[]string{"setup", "kube", "--user", "u", "k/t", "--apply"}, "kube-credential"},
	} {
		t.Run(c.tool, func(t *testing.T) {
			dir := t.TempDir()
			dots := filepath.Join(dir, "dotfiles")
			os.MkdirAll(dots, 0o700)
			target := filepath.Join(dots, c.file)
			if err := os.WriteFile(target, []byte(c.content), 0o640); err != nil {
				t.Fatal(err)
			}
			os.Chmod(target, 0o640)
			// A relative link to a relative link: both stay.
			os.Symlink(filepath.Join("dotfiles", c.file), filepath.Join(dir, "middle"))
			cfg := filepath.Join(dir, "cfg")
			os.MkdirAll(cfg, 0o700)
			path := filepath.Join(cfg, c.file)
			if err := os.Symlink(filepath.Join("..", "middle"), path); err != nil {
				t.Fatal(err)
			}
			e := newTestEnv(t, "", false, c.env(path))
			if code := e.run(c.args...); code != 0 {
				t.Fatalf("exit %d: %s", code, e.err.String())
			}
			for _, l := range []string{path, filepath.Join(dir, "middle")} {
				if fi, err := os.Lstat(l); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
					t.Fatalf("%s is no longer a link: %v %v", l, fi.Mode(), err)
				}
			}
			b, _ := os.ReadFile(target)
			if !strings.Contains(string(b), c.want) {
				t.Fatalf("the linked file lacks %q:\n%s", c.want, b)
			}
			if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
				t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
			}
		})
	}
}

// TestSetupDockerNotAnObject: config.json holding null is no settings, as
// docker reads it; another JSON value that is not an object is an error
// naming the file, and the file stays.
func TestSetupDockerNotAnObject(t *testing.T) {
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "docker-credential-kr"), []byte("#!/bin/sh\n"), 0o755)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	e := newTestEnv(t, "", false, map[string]string{"DOCKER_CONFIG": dir, "PATH": bin})
	os.WriteFile(path, []byte("null\n"), 0o600)
	if code := e.run("setup", "docker", "--apply"); code != 0 {
		t.Fatalf("null: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != "{\n\t\"credsStore\": \"kr\"\n}\n" {
		t.Fatalf("null became %q", b)
	}
	for _, bad := range []string{"[]", `"x"`, "1", "[{}]"} {
		os.WriteFile(path, []byte(bad), 0o600)
		if code := e.run("setup", "docker", "--apply"); code != 1 || !strings.Contains(e.err.String(), "kr: error: "+path+": not a JSON object") {
			t.Fatalf("%s: exit %d, %s", bad, code, e.err.String())
		}
		if b, _ := os.ReadFile(path); string(b) != bad {
			t.Fatalf("%s changed to %q", bad, b)
		}
	}
}
