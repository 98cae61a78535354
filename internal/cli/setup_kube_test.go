package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// kubeUsers reads a kubeconfig's users as kubectl does (aliases
// expanded): name -> user mapping.
func kubeUsers(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Users []struct {
			Name string         `yaml:"name"`
			User map[string]any `yaml:"user"`
		} `yaml:"users"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	out := map[string]map[string]any{}
	for _, u := range c.Users {
		out[u.Name] = u.User
	}
	return out
}

// TestSetupKubeSharedAnchor: a user whose user mapping is shared with
// another through a YAML anchor and alias, or taken from another with a
// merge key, is changed alone, whichever of them holds the anchor.
func TestSetupKubeSharedAnchor(t *testing.T) {
	const shared = "apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user: &u\n    token: abc\n- name: b\n  user: *u\n- name: c\n  user: *u\n"
	const merged = "apiVersion: v1\nkind: Config\nusers:\n- name: a\n  user: &u\n    token: abc\n- name: b\n  user:\n    <<: *u\n    username: x\n- name: c\n  user: *u\n"
	for _, in := range []string{shared, merged} {
		for _, edited := range []string{"a", "b", "c"} {
			t.Run(edited, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "config")
				os.WriteFile(path, []byte(in), 0o600)
				e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path})
				if code := e.run("setup", "kube", "--user", edited, "k/t", "--replace"); code != 0 {
					t.Fatalf("exit %d: %s", code, e.err.String())
				}
				users := kubeUsers(t, path)
				for _, name := range []string{"a", "b", "c"} {
					_, hasExec := users[name]["exec"]
					if name == edited {
						if !hasExec || users[name]["token"] != nil || users[name]["username"] != nil {
							t.Errorf("edited user %s: %v", name, users[name])
						}
					} else if hasExec || users[name]["token"] != "abc" {
						t.Errorf("user %s was changed too: %v", name, users[name])
					}
				}
			})
		}
	}
}

// TestSetupKubeRefused: a file kubectl cannot read, and a missing kubectl,
// are named, and the file stays as it was.
func TestSetupKubeRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	const bad = "users: [\n- name: a\n"
	os.WriteFile(path, []byte(bad), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path})
	if code := e.run("setup", "kube", "--user", "a", "k/t", "--apply"); code != 1 || !strings.Contains(e.err.String(), "kr: hint: fix the file") {
		t.Fatalf("a broken file: exit %d: %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != bad {
		t.Fatalf("changed:\n%s", b)
	}
	t.Setenv("PATH", t.TempDir())
	const good = "apiVersion: v1\nkind: Config\nusers: []\n"
	os.WriteFile(path, []byte(good), 0o600)
	if code := e.run("setup", "kube", "--user", "a", "k/t", "--apply"); code != 1 || !strings.Contains(e.err.String(), "no kubectl in PATH") {
		t.Fatalf("no kubectl: exit %d: %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != good {
		t.Fatalf("changed:\n%s", b)
	}
}

// TestSetupKubePrint: without --apply the entry is printed, as YAML that
// reads back as what --apply writes, names YAML would take for something
// else than a string included.
func TestSetupKubePrint(t *testing.T) {
	for _, user := range []string{"prod", "true", "@ops", "0x1", "a: b", "-x"} {
		path := filepath.Join(t.TempDir(), "config")
		e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path})
		if code := e.run("setup", "kube", "--user", user, "k8s/@x", "--client-certificate", "on", "--client-key", "k.1"); code != 0 {
			t.Fatalf("%s: exit %d: %s", user, code, e.err.String())
		}
		var c struct {
			Users []struct {
				Name string `yaml:"name"`
				User struct {
					Exec map[string]any `yaml:"exec"`
				} `yaml:"user"`
			} `yaml:"users"`
		}
		if err := yaml.Unmarshal(e.out.Bytes(), &c); err != nil {
			t.Fatalf("%s: %v\n%s", user, err, e.out.String())
		}
		want := []any{"kube-credential", "k8s/@x", "--client-certificate", "on", "--client-key", "k.1"}
		if len(c.Users) != 1 || c.Users[0].Name != user || !reflect.DeepEqual(c.Users[0].User.Exec["args"], want) ||
			c.Users[0].User.Exec["command"] != krCommand() || c.Users[0].User.Exec["interactiveMode"] != "IfAvailable" {
			t.Errorf("%s: read back as %+v:\n%s", user, c, e.out.String())
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s: printing wrote %s", user, path)
		}
	}
}

// TestSetupKubeConfigList: with KUBECONFIG=a:b, a user kubectl reads from
// b is changed in b, with a note; a new user goes to the first file.
func TestSetupKubeConfigList(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(a, []byte("apiVersion: v1\nkind: Config\nusers:\n- name: other\n  user:\n    token: o\n"), 0o600)
	os.WriteFile(b, []byte("apiVersion: v1\nkind: Config\nusers:\n- name: prod\n  user:\n    token: p\n"), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": a + string(os.PathListSeparator) + b})
	if code := e.run("setup", "kube", "--user", "prod", "k/t", "--replace"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if !strings.Contains(e.err.String(), "user prod is in "+b+" (file 2 of KUBECONFIG)") {
		t.Errorf("no note: %s", e.err.String())
	}
	if _, ok := kubeUsers(t, a)["prod"]; ok {
		t.Fatalf("a new prod in %s shadows the one in %s", a, b)
	}
	if u := kubeUsers(t, b)["prod"]; u["exec"] == nil || u["token"] != nil {
		t.Fatalf("prod in %s: %v", b, u)
	}
	if code := e.run("setup", "kube", "--user", "fresh", "k/t", "--apply"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if _, ok := kubeUsers(t, a)["fresh"]; !ok {
		t.Fatalf("a new user is not in the first file")
	}
}

// TestSetupKubeKeepsWhatKubectlDrops: kubectl writes a kubeconfig back
// without its comments, so --apply keeps the file as it was beside it and
// says where; a later run that changes nothing leaves that copy alone.
func TestSetupKubeKeepsWhatKubectlDrops(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	const mine = "# staging cluster: ask ops before changing\napiVersion: v1\nkind: Config\nusers:\n- name: a # the CI user\n  user: {}\n"
	os.WriteFile(path, []byte(mine), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path})
	if code := e.run("setup", "kube", "--user", "a", "k/t", "--apply"); code != 0 {
		t.Fatalf("exit %d: %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "ask ops") {
		t.Fatal("this kubectl keeps comments: the copy beside the file is needed no more")
	}
	kept, err := os.ReadFile(path + ".before-kr")
	if err != nil || string(kept) != mine {
		t.Fatalf("the file as it was: %q, %v", kept, err)
	}
	if fi, _ := os.Stat(path + ".before-kr"); fi.Mode().Perm() != 0o600 {
		t.Errorf("the copy has mode %v", fi.Mode().Perm())
	}
	if !strings.Contains(e.err.String(), path+".before-kr") {
		t.Errorf("not said where the file as it was is: %s", e.err.String())
	}
	e = newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path})
	if code := e.run("setup", "kube", "--user", "b", "k/u", "--apply"); code != 0 {
		t.Fatalf("second user: exit %d: %s", code, e.err.String())
	}
	if kept, _ := os.ReadFile(path + ".before-kr"); string(kept) != mine {
		t.Fatalf("a later run replaced the copy: %q", kept)
	}
}
