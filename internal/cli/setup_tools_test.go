package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestSetupDocker: --apply sets credsStore and keeps the rest, is
// idempotent, and replaces another store only with --replace, saying so.
func TestSetupDocker(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	os.WriteFile(path, []byte(`{"auths": {"r.example": {}}, "credsStore": "pass", "credHelpers": {"gcr.io": "gcloud"}}`), 0o600)
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "docker-credential-kr"), []byte("#!/bin/sh\n"), 0o755)
	e := newTestEnv(t, "", false, map[string]string{"DOCKER_CONFIG": dir, "PATH": bin})
	if code := e.run("setup", "docker"); code != 0 || !strings.Contains(e.out.String(), `"credsStore": "kr"`) || !strings.Contains(e.out.String(), `credsStore is now "pass"`) {
		t.Fatalf("print: exit %d\n%s%s", code, e.out.String(), e.err.String())
	}
	if code := e.run("setup", "docker", "--apply"); code != 1 || !strings.Contains(e.err.String(), `already "pass"; nothing was changed`) {
		t.Fatalf("apply over pass: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"pass"`) {
		t.Fatalf("changed without --replace: %s", b)
	}
	if code := e.run("setup", "docker", "--replace"); code != 0 || !strings.Contains(e.err.String(), `replacing credsStore "pass"`) || !strings.Contains(e.err.String(), "credHelpers sends gcr.io to docker-credential-gcloud") {
		t.Fatalf("replace: exit %d, %s", code, e.err.String())
	}
	want := "{\n\t\"auths\": {\n\t\t\"r.example\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t},\n\t\"credsStore\": \"kr\"\n}\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("config.json:\n%s\nwant:\n%s", b, want)
	}
	if code := e.run("setup", "docker", "--apply"); code != 0 || !strings.Contains(e.err.String(), "already uses kr") {
		t.Fatalf("again: exit %d, %s", code, e.err.String())
	}
	if strings.Contains(e.err.String(), "kr: made") {
		t.Fatalf("made a link although docker-credential-kr is on PATH: %s", e.err.String())
	}

	// Not on PATH: the printed configuration says where to link it, a
	// directory on PATH that is the user's own.
	own := t.TempDir()
	e = newTestEnv(t, "", false, map[string]string{"DOCKER_CONFIG": dir, "PATH": own})
	if code := e.run("setup", "docker"); code != 0 || !strings.Contains(e.out.String(), "# docker-credential-kr is not on PATH; link it into "+own+":\nln -s ") {
		t.Fatalf("print without the helper on PATH: exit %d\n%s", code, e.out.String())
	}

	// No directory on PATH is the user's own (here: one anybody may write
	// to): --apply refuses with exit 2 and config.json stays as it was.
	shared := t.TempDir()
	os.Chmod(shared, 0o777)
	os.WriteFile(path, []byte(`{"auths": {}}`), 0o600)
	e = newTestEnv(t, "", false, map[string]string{"DOCKER_CONFIG": dir, "PATH": shared + string(os.PathListSeparator) + filepath.Join(dir, "missing")})
	if code := e.run("setup", "docker", "--apply"); code != 2 || !strings.Contains(e.err.String(), "no directory on PATH is yours to write; nothing was changed") {
		t.Fatalf("apply with nowhere to link: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != `{"auths": {}}` {
		t.Fatalf("config.json changed although setup refused:\n%s", b)
	}
	if entries, _ := os.ReadDir(shared); len(entries) != 0 {
		t.Fatalf("linked into a directory others may write: %v", entries)
	}
}

// TestSetupAWS: the profile gets credential_process, other lines stay, a
// second run changes nothing, another process is replaced only with
// --replace.
func TestSetupAWS(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	before := "# mine\n[default]\nregion = eu-west-1\n\n[profile work]\nregion = us-east-1\noutput = json\n\n[profile other]\ncredential_process = aws-vault exec other --json\n"
	os.WriteFile(path, []byte(before), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte("[work]\naws_access_key_id = AKIDOLD\n"), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"AWS_CONFIG_FILE": path, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials")})
	kr := krCommand()
	if code := e.run("setup", "aws", "--profile", "work", "aws/work", "--apply"); code != 0 {
		t.Fatalf("apply: exit %d, %s", code, e.err.String())
	}
	if !strings.Contains(e.err.String(), "has static keys for profile work") {
		t.Errorf("no note of the static keys: %s", e.err.String())
	}
	want := strings.Replace(before, "output = json\n", "output = json\ncredential_process = "+kr+" aws-credentials aws/work\n", 1)
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("config:\n%s\nwant:\n%s", b, want)
	}
	if code := e.run("setup", "aws", "--profile", "work", "aws/work/", "--apply"); code != 0 || !strings.Contains(e.err.String(), "already runs") {
		t.Fatalf("again: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("a second run changed the file:\n%s", b)
	}
	if code := e.run("setup", "aws", "--profile", "other", "aws/other", "--apply"); code != 1 || !strings.Contains(e.err.String(), "aws-vault exec other --json; nothing was changed") {
		t.Fatalf("over aws-vault: exit %d, %s", code, e.err.String())
	}
	if code := e.run("setup", "aws", "--profile", "new", "aws/new", "--apply"); code != 0 {
		t.Fatalf("new profile: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); !strings.HasSuffix(string(b), "--json\n\n[profile new]\ncredential_process = "+kr+" aws-credentials aws/new\n") {
		t.Fatalf("new profile:\n%s", b)
	}
	if code := e.run("setup", "aws", "--profile", "a]b", "x"); code != 2 {
		t.Fatalf("bad profile name: exit %d", code)
	}
}

// TestSetupAWSHeaderComment: a header with a comment after it is a
// section, as botocore reads it: the default profile's line goes into
// [default], never into the profile below it; static keys under a
// commented header are named; a file the AWS tools refuse is left alone.
func TestSetupAWSHeaderComment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	before := "[default]\nregion = eu-west-1\n\n[profile prod] # production\nregion = us-east-1\n"
	os.WriteFile(path, []byte(before), 0o600)
	os.WriteFile(creds, []byte("[default] ; mine\naws_access_key_id = AKIDOLD\n"), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"AWS_CONFIG_FILE": path, "AWS_SHARED_CREDENTIALS_FILE": creds})
	if code := e.run("setup", "aws", "--profile", "default", "aws/dev", "--apply"); code != 0 {
		t.Fatalf("apply: exit %d, %s", code, e.err.String())
	}
	want := strings.Replace(before, "eu-west-1\n", "eu-west-1\ncredential_process = "+krCommand()+" aws-credentials aws/dev\n", 1)
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("config:\n%s\nwant:\n%s", b, want)
	}
	if !strings.Contains(e.err.String(), "has static keys for profile default") {
		t.Errorf("no note of the static keys: %s", e.err.String())
	}
	bad := "[default]\nregion = a\n[default]\nregion = b\n"
	os.WriteFile(path, []byte(bad), 0o600)
	if code := e.run("setup", "aws", "--profile", "default", "aws/dev", "--apply"); code != 1 || !strings.Contains(e.err.String(), "line 3: a section appears twice") {
		t.Fatalf("a file botocore refuses: exit %d, %s", code, e.err.String())
	}
	if b, _ := os.ReadFile(path); string(b) != bad {
		t.Fatalf("a refused file changed:\n%s", b)
	}
}

// TestSetupKube: the user's exec stanza is added (with the users list and
// the user when missing), the rest of the file stays, a second run
// changes nothing, a user with a token keeps it unless --replace.
func TestSetupKube(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	os.WriteFile(path, []byte("apiVersion: v1\nkind: Config\n# my users\nusers:\n- name: old\n  user:\n    token: abc\ncurrent-context: x\n"), 0o600)
	e := newTestEnv(t, "", false, map[string]string{"KUBECONFIG": path + string(os.PathListSeparator) + "/nonexistent"})
	if code := e.run("setup", "kube", "--user", "prod", "k8s/prod", "--apply"); code != 0 {
		t.Fatalf("apply: exit %d, %s", code, e.err.String())
	}
	b, _ := os.ReadFile(path)
	wantExec := map[string]any{"apiVersion": "client.authentication.k8s.io/v1", "command": krCommand(),
		"args": []any{"kube-credential", "k8s/prod"}, "interactiveMode": "IfAvailable"}
	users := kubeUsers(t, path)
	if !sameExec(users["prod"]["exec"], wantExec) || len(users["prod"]) != 1 {
		t.Errorf("user prod: %v\n%s", users["prod"], b)
	}
	if len(users) != 2 || !reflect.DeepEqual(users["old"], map[string]any{"token": "abc"}) || !strings.Contains(string(b), "current-context: x\n") {
		t.Errorf("the rest of the file changed:\n%s", b)
	}
	if code := e.run("setup", "kube", "--user", "prod", "k8s/prod", "--apply"); code != 0 || !strings.Contains(e.err.String(), "already runs kr") {
		t.Fatalf("again: exit %d, %s", code, e.err.String())
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatalf("a second run changed the file")
	}
	if code := e.run("setup", "kube", "--user", "prod", "k8s/prod"); code != 0 || !strings.Contains(e.out.String(), "# already configured") {
		t.Fatalf("print: exit %d, %s", code, e.out.String())
	}
	if code := e.run("setup", "kube", "--user", "old", "k8s/old", "--apply"); code != 1 || !strings.Contains(e.err.String(), "already authenticates with token") {
		t.Fatalf("over a token: exit %d, %s", code, e.err.String())
	}
	if b2, _ := os.ReadFile(path); string(b2) != string(b) {
		t.Fatalf("a refused run changed the file")
	}
	if code := e.run("setup", "kube", "--user", "old", "k8s/old", "--replace"); code != 0 {
		t.Fatalf("replace: exit %d, %s", code, e.err.String())
	}
	wantExec["args"] = []any{"kube-credential", "k8s/old"}
	if u := kubeUsers(t, path)["old"]; !sameExec(u["exec"], wantExec) || len(u) != 1 {
		t.Fatalf("after replace: %v", u)
	}
	fresh := filepath.Join(dir, "new", "config")
	if code := e.run("setup", "kube", "--kubeconfig", fresh, "--user", "u", "--client-certificate", "k/c", "--client-key", "k/k", "--apply"); code != 0 {
		t.Fatalf("new file: exit %d, %s", code, e.err.String())
	}
	wantExec["args"] = []any{"kube-credential", "--client-certificate", "k/c", "--client-key", "k/k"}
	if u := kubeUsers(t, fresh)["u"]; !sameExec(u["exec"], wantExec) {
		t.Fatalf("new file: %v", u)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new file: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(fresh)); len(ents) != 1 {
		t.Fatalf("left behind: %v", ents)
	}
}

// sameExec: the exec mapping holds want's keys with want's values (kubectl
// writes its other keys with their zero values).
func sameExec(got any, want map[string]any) bool {
	m, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range want {
		if !reflect.DeepEqual(m[k], v) {
			return false
		}
	}
	return true
}
