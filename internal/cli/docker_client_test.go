package cli_test

import (
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/kr-keyring/kr/internal/testenv"
)

// helperBin links this test binary into a fresh directory under each of
// names, the way kr is installed for clients to find on PATH, and returns
// the directory. The links run kr (KR_TEST_RUN_AS_KR=1 must be in their
// environment).
func helperBin(t *testing.T, names ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(exe, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fileVaultEnv is kr's environment for a private file vault unlocked by a
// passphrase variable, with no agent and no session bus.
func fileVaultEnv(t *testing.T) map[string]string {
	tmp := t.TempDir()
	return map[string]string{
		"KR_TEST_RUN_AS_KR":        "1",
		"KR_BACKEND":               "file",
		"KR_VAULT":                 filepath.Join(tmp, "vault"),
		"KR_CONFIG_DIR":            filepath.Join(tmp, "config"),
		"KR_PASSPHRASE":            "pw",
		"KR_NO_AGENT":              "1",
		"HOME":                     tmp,
		"XDG_RUNTIME_DIR":          tmp,
		"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(tmp, "no-bus"),
	}
}

// TestDockerHelperClient drives docker-credential-kr with the client
// package of docker-credential-helpers, the code docker itself runs
// helpers with: store, get, list and erase; a missing login, a missing
// username and an identity token read as docker reads them.
func TestDockerHelperClient(t *testing.T) {
	bin := helperBin(t, "docker-credential-kr")
	env := fileVaultEnv(t)
	program := client.NewShellProgramFuncWithEnv(filepath.Join(bin, "docker-credential-kr"), &env)

	logins := []*credentials.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "alice", Secret: "pa$$ \"wörd\""},
		{ServerURL: "127.0.0.1:5000", Username: "<token>", Secret: "eyJhbGciOi.identity.token"},
	}
	for _, c := range logins {
		if err := client.Store(program, c); err != nil {
			t.Fatalf("store %s: %v", c.ServerURL, err)
		}
	}
	for _, c := range logins {
		got, err := client.Get(program, c.ServerURL)
		if err != nil {
			t.Fatalf("get %s: %v", c.ServerURL, err)
		}
		if *got != *c {
			t.Fatalf("get %s = %+v, want %+v", c.ServerURL, got, c)
		}
	}
	if _, err := client.Get(program, "127.0.0.1:5001"); !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("get of another port: %v, want docker's not-found", err)
	}
	list, err := client.List(program)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"https://index.docker.io/v1/": "alice", "127.0.0.1:5000": "<token>"}; !reflect.DeepEqual(list, want) {
		t.Fatalf("list = %v, want %v", list, want)
	}
	err = client.Store(program, &credentials.Credentials{ServerURL: "r", Secret: "s"})
	// The client puts the helper's line in its error as text (errors.As
	// cannot see it): the line must be docker's own word for word.
	if err == nil || !strings.Contains(err.Error(), "out: `no credentials username`") {
		t.Fatalf("store without username: %v, want docker's missing-username line", err)
	}
	if err := client.Erase(program, "127.0.0.1:5000"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(program, "127.0.0.1:5000"); !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("get after erase: %v", err)
	}
	if err := client.Erase(program, "127.0.0.1:5000"); err != nil {
		t.Fatalf("second erase (logout twice): %v", err)
	}
}

// registryStub answers /v2/ as a registry that wants Basic auth for
// user:pass, and counts the logins it accepted.
func registryStub(t *testing.T, user, pass string) (addr string, accepted *int) {
	t.Helper()
	n := new(int)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" && r.URL.Path != "/v2" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="kr-test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		*n++
		w.Write([]byte("{}"))
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return l.Addr().String(), n
}

// TestDockerCLILogin: the docker CLI with credsStore kr logs in to a local
// registry (client-side: no daemon) and kr keeps the login, not
// config.json; docker logout erases it.
func TestDockerCLILogin(t *testing.T) {
	docker := testenv.Tool(t, "docker", "docker-ce-cli")
	bin := helperBin(t, "docker-credential-kr")
	env := fileVaultEnv(t)
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"credsStore": "kr"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, accepted := registryStub(t, "alice", "s3cret pass")
	environ := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=unix://" + filepath.Join(cfg, "no-daemon.sock")}
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(docker, args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kr := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "docker-credential-kr"), args...)
		cmd.Env = environ
		cmd.Stdin = strings.NewReader(addr)
		out, _ := cmd.Output()
		return string(out)
	}

	out := run("s3cret pass", "login", "--username", "alice", "--password-stdin", addr)
	if !strings.Contains(out, "Login Succeeded") || *accepted == 0 {
		t.Fatalf("login: %s (registry accepted %d)", out, *accepted)
	}
	if got, want := kr("get"), `{"ServerURL":"`+addr+`","Username":"alice","Secret":"s3cret pass"}`+"\n"; got != want {
		t.Fatalf("after login, kr has %q, want %q", got, want)
	}
	conf, _ := os.ReadFile(filepath.Join(cfg, "config.json"))
	if strings.Contains(string(conf), "s3cret") || strings.Contains(string(conf), base64.StdEncoding.EncodeToString([]byte("alice:s3cret pass"))) {
		t.Fatalf("the password is in config.json:\n%s", conf)
	}
	run("", "logout", addr)
	if got := kr("get"); got != "credentials not found in native keychain\n" {
		t.Fatalf("after logout, kr get printed %q", got)
	}
}

// TestDockerSetupOffPath: with kr itself in no directory on PATH, kr setup
// docker --apply links docker-credential-kr where PATH finds it (docker
// looks helpers up on PATH and takes no path), so the next docker login
// works; before, it wrote credsStore and left every login failing.
func TestDockerSetupOffPath(t *testing.T) {
	docker := testenv.Tool(t, "docker", "the docker CLI (docker-ce-cli)")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	krDir := t.TempDir() // kr lives here, off PATH
	kr := filepath.Join(krDir, "kr")
	if err := os.Symlink(exe, kr); err != nil {
		t.Fatal(err)
	}
	userBin := t.TempDir() // the user's own directory on PATH, empty
	cfg := t.TempDir()
	addr, accepted := registryStub(t, "alice", "s3cret pass")
	environ := []string{"PATH=" + userBin + string(os.PathListSeparator) + filepath.Dir(docker),
		"DOCKER_CONFIG=" + cfg, "DOCKER_HOST=unix://" + filepath.Join(cfg, "no-daemon.sock")}
	for k, v := range fileVaultEnv(t) {
		environ = append(environ, k+"="+v)
	}
	cmd := exec.Command(kr, "setup", "docker", "--apply")
	cmd.Env = environ
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	} else if !strings.Contains(string(out), "kr: made "+filepath.Join(userBin, "docker-credential-kr")) {
		t.Fatalf("setup did not say where it linked the helper:\n%s", out)
	}
	login := exec.Command(docker, "login", "--username", "alice", "--password-stdin", addr)
	login.Env = environ
	login.Stdin = strings.NewReader("s3cret pass")
	out, err := login.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Login Succeeded") || *accepted == 0 {
		t.Fatalf("docker login after setup: %v\n%s", err, out)
	}
	conf, _ := os.ReadFile(filepath.Join(cfg, "config.json"))
	if strings.Contains(string(conf), base64.StdEncoding.EncodeToString([]byte("alice:s3cret pass"))) {
		t.Fatalf("the login went to config.json, not kr:\n%s", conf)
	}
}
