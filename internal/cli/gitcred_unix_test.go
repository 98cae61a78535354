//go:build unix

package cli_test

import (
	"filippo.io/age"
	"github.com/kr-keyring/kr/internal/testenv"

	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests run git itself (Debian's 2.39) with kr as its credential
// helper: this test binary, which is kr when KR_TEST_RUN_AS_KR=1, linked
// as git-credential-kr into a directory on PATH, the way users install
// it. The store is a file vault unlocked by KR_PASSPHRASE.

// gitEnv is a home, a global git config, a vault and a PATH with
// git-credential-kr for one test.
type gitEnv struct {
	dir string
	env []string
}

func newGitEnv(t *testing.T) *gitEnv {
	t.Helper()
	testenv.Tool(t, "git", "git")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "git-credential-kr")); err != nil {
		t.Fatal(err)
	}
	g := &gitEnv{dir: dir}
	for _, kv := range os.Environ() {
		// The caller's git and kr settings must not leak in.
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "KR_") || strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		g.env = append(g.env, kv)
	}
	g.env = append(g.env,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"GIT_CONFIG_GLOBAL="+filepath.Join(dir, "gitconfig"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"KR_TEST_RUN_AS_KR=1",
		"KR_BACKEND=file",
		"KR_VAULT="+filepath.Join(dir, "vault"),
		"KR_CONFIG_DIR="+filepath.Join(dir, "krconfig"),
		"KR_PASSPHRASE=test passphrase",
		"KR_NO_AGENT=1",
	)
	return g
}

// run runs name with stdin and returns stdout, stderr and the exit code.
func (g *gitEnv) run(t *testing.T, stdin, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = g.env
	cmd.Dir = g.dir
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return stdout.String(), stderr.String(), code
}

func (g *gitEnv) ok(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	out, errOut, code := g.run(t, stdin, name, args...)
	if code != 0 {
		t.Fatalf("%s %v: exit %d\n%s", name, args, code, errOut)
	}
	return out
}

// kr runs kr itself (the test binary).
func (g *gitEnv) kr() string {
	return filepath.Join(g.dir, "bin", "git-credential-kr")
}

// TestGitCredentialFillApproveReject: git credential approve stores through
// kr, fill reads back, never for another port, reject erases; kr setup git
// --apply configures git and is idempotent.
func TestGitCredentialFillApproveReject(t *testing.T) {
	g := newGitEnv(t)
	// kr setup git --apply, run as kr: the multi-call binary under its own
	// name is the test binary with KR_TEST_RUN_AS_KR=1.
	exe, _ := os.Executable()
	out := g.ok(t, "", exe, "setup", "git")
	if !strings.Contains(out, "git config --global --add credential.helper kr\n") {
		t.Fatalf("kr setup git printed\n%s", out)
	}
	_, errOut, code := g.run(t, "", exe, "setup", "git", "--apply")
	if code != 0 {
		t.Fatalf("kr setup git --apply: exit %d: %s", code, errOut)
	}
	if got := g.ok(t, "", "git", "config", "--global", "--get-all", "credential.helper"); got != "kr\n" {
		t.Fatalf("credential.helper = %q", got)
	}
	_, errOut, _ = g.run(t, "", exe, "setup", "git", "--apply")
	if !strings.Contains(errOut, "already uses kr") {
		t.Errorf("second kr setup git --apply said %q", errOut)
	}
	if got := g.ok(t, "", "git", "config", "--global", "--get-all", "credential.helper"); got != "kr\n" {
		t.Fatalf("credential.helper after a second --apply = %q", got)
	}

	g.ok(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	names := g.ok(t, "", exe, "ls")
	if names != "git/https/example.org/alice\n" {
		t.Fatalf("kr ls after approve = %q", names)
	}
	out = g.ok(t, "protocol=https\nhost=example.org\n\n", "git", "credential", "fill")
	if out != "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n" {
		t.Fatalf("git credential fill = %q", out)
	}
	// Another port: kr has nothing, and git, with prompts off, fails.
	out, _, code = g.run(t, "protocol=https\nhost=example.org:8443\n\n", "git", "credential", "fill")
	if code == 0 || strings.Contains(out, "s3cret") {
		t.Fatalf("git credential fill for another port = %q, exit %d", out, code)
	}
	g.ok(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "reject")
	if names := g.ok(t, "", exe, "ls"); names != "" {
		t.Fatalf("kr ls after reject = %q", names)
	}
	if out, _, code := g.run(t, "protocol=https\nhost=example.org\n\n", "git", "credential", "fill"); code == 0 {
		t.Fatalf("git credential fill after reject = %q", out)
	}
}

// TestSetupGitOtherHelper: a helper already configured is never replaced
// silently: --apply refuses and names it, --replace turns it off with an
// empty line before kr's and says so.
func TestSetupGitOtherHelper(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	g.ok(t, "", "git", "config", "--global", "credential.helper", "osxkeychain")
	_, errOut, code := g.run(t, "", exe, "setup", "git", "--apply")
	if code == 0 || !strings.Contains(errOut, `credential.helper "osxkeychain" (global, `) {
		t.Fatalf("--apply over another helper: exit %d, %q", code, errOut)
	}
	if got := g.ok(t, "", "git", "config", "--global", "--get-all", "credential.helper"); got != "osxkeychain\n" {
		t.Fatalf("credential.helper after a refused --apply = %q", got)
	}
	_, errOut, code = g.run(t, "", exe, "setup", "git", "--replace")
	if code != 0 || !strings.Contains(errOut, `turned off credential.helper "osxkeychain"`) {
		t.Fatalf("--replace: exit %d, %q", code, errOut)
	}
	if got := g.ok(t, "", "git", "config", "--global", "--get-all", "credential.helper"); got != "osxkeychain\n\nkr\n" {
		t.Fatalf("credential.helper after --replace = %q", got)
	}
	if _, errOut, _ := g.run(t, "", exe, "setup", "git", "--apply"); !strings.Contains(errOut, "already uses kr") {
		t.Fatalf("after --replace, --apply says %q", errOut)
	}
}

// TestGitCredentialHelperErrors: what git sees when kr cannot help: a
// locked vault with no terminal is an error on stderr with exit 4 and
// nothing on stdout; malformed input exit 1; an unknown action nothing.
func TestGitCredentialHelperErrors(t *testing.T) {
	g := newGitEnv(t)
	helper := g.kr()
	g.ok(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n", helper, "store")
	var locked []string
	for _, kv := range g.env {
		if !strings.HasPrefix(kv, "KR_PASSPHRASE=") {
			locked = append(locked, kv)
		}
	}
	unlocked := g.env
	g.env = locked
	out, errOut, code := g.run(t, "protocol=https\nhost=example.org\n", helper, "get")
	g.env = unlocked
	if code != 4 || out != "" || !strings.Contains(errOut, "kr: error:") || strings.Contains(errOut, "s3cret") {
		t.Fatalf("get on a locked vault: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, _, code = g.run(t, "protocol=https\nhost=example.org\x00\n", helper, "get")
	if code != 1 || out != "" {
		t.Fatalf("get with a NUL: exit %d, stdout %q", code, out)
	}
	out, _, code = g.run(t, "protocol=https\npassword="+strings.Repeat("x", 70<<10)+"\n", helper, "get")
	if code != 1 || out != "" {
		t.Fatalf("oversize get: exit %d, stdout %q", code, out)
	}
	out, errOut, code = g.run(t, "protocol=https\nhost=example.org\n", helper, "capability")
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("unknown action: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// gitServer serves bare repositories under root with git http-backend
// (CGI), demanding Basic auth as user:password, and counts the requests
// that came with the right credentials.
type gitServer struct {
	url        string
	authorized atomic.Int64
}

func startGitServer(t *testing.T, root, user, password string) *gitServer {
	t.Helper()
	git := testenv.Tool(t, "git", "git")
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	s := &gitServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="kr test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		s.authorized.Add(1)
		backend.ServeHTTP(w, r)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.url = "http://" + ln.Addr().String()
	return s
}

// TestGitCloneOverHTTPAsksOnce: a real clone and push over HTTP with Basic
// auth. The first clone asks GIT_ASKPASS for the password, once; git hands
// it to kr to store; the second clone and a push ask nothing.
func TestGitCloneOverHTTPAsksOnce(t *testing.T) {
	g := newGitEnv(t)
	g.ok(t, "", "git", "config", "--global", "credential.helper", "kr")
	g.ok(t, "", "git", "config", "--global", "user.name", "kr test")
	g.ok(t, "", "git", "config", "--global", "user.email", "test@kr.invalid")
	g.ok(t, "", "git", "config", "--global", "init.defaultBranch", "main")

	root := filepath.Join(g.dir, "srv")
	bare := filepath.Join(root, "repo.git")
	g.ok(t, "", "git", "init", "-q", "--bare", bare)
	g.ok(t, "", "git", "-C", bare, "config", "http.receivepack", "true")
	seed := filepath.Join(g.dir, "seed")
	g.ok(t, "", "git", "init", "-q", seed)
	if err := os.WriteFile(filepath.Join(seed, "README"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.ok(t, "", "git", "-C", seed, "add", "README")
	g.ok(t, "", "git", "-C", seed, "commit", "-qm", "first")
	g.ok(t, "", "git", "-C", seed, "push", "-q", bare, "main")

	const password = "http-s3cret"
	srv := startGitServer(t, root, "alice", password)

	// The askpass script answers the password prompt and counts every call.
	count := filepath.Join(g.dir, "askpass-calls")
	askpass := filepath.Join(g.dir, "askpass.sh")
	script := fmt.Sprintf("#!/bin/sh\necho \"$1\" >> %q\ncase \"$1\" in\n  Password*) echo %s ;;\n  *) echo alice ;;\nesac\n", count, password)
	if err := os.WriteFile(askpass, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	g.env = append(g.env, "GIT_ASKPASS="+askpass)
	calls := func() int {
		b, err := os.ReadFile(count)
		if os.IsNotExist(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "\n")
	}

	url := strings.Replace(srv.url, "http://", "http://alice@", 1) + "/repo.git"
	g.ok(t, "", "git", "clone", "-q", url, filepath.Join(g.dir, "one"))
	if n := calls(); n != 1 {
		t.Fatalf("first clone asked %d times, want once", n)
	}
	host := strings.TrimPrefix(srv.url, "http://")
	exe, _ := os.Executable()
	if names := g.ok(t, "", exe, "ls"); names != "git/http/"+host+"/alice\n" {
		t.Fatalf("kr ls after the first clone = %q", names)
	}

	g.ok(t, "", "git", "clone", "-q", url, filepath.Join(g.dir, "two"))
	two := filepath.Join(g.dir, "two")
	if err := os.WriteFile(filepath.Join(two, "NEW"), []byte("pushed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.ok(t, "", "git", "-C", two, "add", "NEW")
	g.ok(t, "", "git", "-C", two, "commit", "-qm", "second")
	g.ok(t, "", "git", "-C", two, "push", "-q", "origin", "main")
	if n := calls(); n != 1 {
		t.Fatalf("second clone and push asked %d more times, want none", n-1)
	}
	if got := g.ok(t, "", "git", "-C", bare, "log", "--format=%s", "-1"); got != "second\n" {
		t.Fatalf("the server's head is %q after the push", got)
	}
	if srv.authorized.Load() == 0 {
		t.Fatal("the server saw no authorized request")
	}
}

// TestGitCredentialSharedVault: with KR_VAULT naming a vault that another
// member reads, git credential approve through git-credential-kr files
// nothing there; the same vault with the user alone takes the login.
func TestGitCredentialSharedVault(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	mate, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	me, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(g.dir, "me.key")
	if err := os.WriteFile(key, []byte(me.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.env = append(g.env, "KR_IDENTITY_FILE="+key)
	g.ok(t, "", "git", "config", "--global", "credential.helper", "kr")
	team := filepath.Join(g.dir, "team")
	g.ok(t, "", exe, "vault", "init", "--name", "me", team)
	g.ok(t, "", exe, "--vault", team, "vault", "recipients", "add", "mate", mate.Recipient().String())
	env := g.env
	g.env = append(env, "KR_VAULT="+team)
	_, errOut, _ := g.run(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	if !strings.Contains(errOut, "shared vault") {
		t.Errorf("git credential approve said %q", errOut)
	}
	if names := g.ok(t, "", exe, "ls"); names != "" {
		t.Fatalf("kr ls of the shared vault after approve = %q", names)
	}
	if files, _ := filepath.Glob(filepath.Join(team, "secrets", "*")); len(files) != 0 {
		t.Fatalf("the shared vault holds %q", files)
	}
	// The user alone in a vault: it is theirs, and takes the login.
	mine := filepath.Join(g.dir, "mine")
	g.env = env
	g.ok(t, "", exe, "vault", "init", "--name", "me", mine)
	g.env = append(env, "KR_VAULT="+mine)
	g.ok(t, "protocol=https\nhost=example.org\nusername=alice\npassword=s3cret\n\n", "git", "credential", "approve")
	if names := g.ok(t, "", exe, "ls"); names != "git/https/example.org/alice\n" {
		t.Fatalf("kr ls of the user's own vault after approve = %q", names)
	}
}

// TestGitCredentialNamedSharedVault: a shared vault the user named in
// `kr setup git --vault` takes git's logins, reached by any path (the
// record is made through a symlink); another shared vault still takes
// none.
func TestGitCredentialNamedSharedVault(t *testing.T) {
	g := newGitEnv(t)
	exe, _ := os.Executable()
	mate, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	me, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(g.dir, "me.key")
	if err := os.WriteFile(key, []byte(me.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.env = append(g.env, "KR_IDENTITY_FILE="+key)
	team := filepath.Join(g.dir, "team")
	other := filepath.Join(g.dir, "other")
	for _, dir := range []string{team, other} {
		g.ok(t, "", exe, "vault", "init", "--name", "me", dir)
		g.ok(t, "", exe, "--vault", dir, "vault", "recipients", "add", "mate", mate.Recipient().String())
	}
	link := filepath.Join(g.dir, "team-link")
	if err := os.Symlink(team, link); err != nil {
		t.Fatal(err)
	}
	// Printing the configuration records nothing.
	g.ok(t, "", exe, "setup", "git", "--vault", link)
	env := g.env
	g.env = append(env, "KR_VAULT="+team)
	login := "protocol=https\nhost=example.org\nusername=deploy\npassword=s3cret\n\n"
	g.ok(t, "", "git", "config", "--global", "credential.helper", "kr")
	if _, errOut, _ := g.run(t, login, "git", "credential", "approve"); !strings.Contains(errOut, "shared vault") {
		t.Fatalf("before kr setup --apply --vault, git credential approve said %q", errOut)
	}
	g.ok(t, "", "git", "config", "--global", "--unset-all", "credential.helper")
	g.env = env
	g.ok(t, "", exe, "setup", "git", "--apply", "--vault", link)
	g.env = append(env, "KR_VAULT="+team)
	g.ok(t, login, "git", "credential", "approve")
	if names := g.ok(t, "", exe, "ls"); names != "git/https/example.org/deploy\n" {
		t.Fatalf("kr ls of the named shared vault after approve = %q", names)
	}
	if got := g.ok(t, "protocol=https\nhost=example.org\n\n", "git", "credential", "fill"); !strings.Contains(got, "password=s3cret\n") {
		t.Fatalf("git credential fill = %q", got)
	}
	// kr doctor notes the logins, named on purpose, without a warning.
	if out, _, _ := g.run(t, "", exe, "doctor"); !strings.Contains(out, "info  helper logins") {
		t.Errorf("kr doctor on the named shared vault said:\n%s", out)
	}
	g.env = append(env, "KR_VAULT="+other)
	if _, errOut, _ := g.run(t, login, "git", "credential", "approve"); !strings.Contains(errOut, "shared vault") {
		t.Errorf("git credential approve into another shared vault said %q", errOut)
	}
	if files, _ := filepath.Glob(filepath.Join(other, "secrets", "*")); len(files) != 0 {
		t.Fatalf("the other shared vault holds %q", files)
	}
}
