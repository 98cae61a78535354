package cli_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/internal/testenv"
)

// sshEnv runs kr with an agent whose SSH socket OpenSSH's tools use. The
// agent's pinentry is a script answering CONFIRM with what the file
// answer holds (OK, or pinentry's "canceled"), and logging each CONFIRM.
type sshEnv struct {
	t                          *testing.T
	vault, run, tmp, dir, sock string
}

func newSSHEnv(t *testing.T) *sshEnv {
	for _, tool := range []string{"ssh", "ssh-add", "ssh-keygen"} {
		testenv.Tool(t, tool, "openssh-client")
	}
	vault, _ := newTestVault(t)
	e := &sshEnv{t: t, vault: vault, run: t.TempDir(), tmp: t.TempDir(), dir: t.TempDir()}
	os.Chmod(e.run, 0o700)
	pin := filepath.Join(e.dir, "pinentry")
	script := `#!/bin/sh
echo "OK ready"
while read -r cmd rest; do
  case "$cmd" in
  CONFIRM) echo confirm >> ` + e.dir + `/asked; cat ` + e.dir + `/answer ;;
  BYE) echo OK; exit 0 ;;
  *) echo OK ;;
  esac
done
`
	if err := os.WriteFile(pin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.answer(false)
	t.Cleanup(func() { runBounded(t, e.kr("agent", "stop")) })
	return e
}

func (e *sshEnv) answer(ok bool) {
	a := "ERR 83886179 Operation cancelled <Pinentry>\n"
	if ok {
		a = "OK\n"
	}
	if err := os.WriteFile(filepath.Join(e.dir, "answer"), []byte(a), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *sshEnv) kr(args ...string) *exec.Cmd {
	cmd := krWithAgent(e.t, e.vault, e.run, e.tmp, append([]string{"--timeout", "20s"}, args...)...)
	cmd.Env = append(cmd.Env, "KR_PINENTRY="+filepath.Join(e.dir, "pinentry"))
	return cmd
}

// must runs kr and returns its stdout, failing the test unless it succeeds.
func (e *sshEnv) must(args ...string) string {
	e.t.Helper()
	out, stderr, code := runBounded(e.t, e.kr(args...))
	if code != 0 {
		e.t.Fatalf("kr %v: exit %d: %s", args, code, stderr)
	}
	return out
}

// tool runs an OpenSSH tool (or git) against kr's SSH socket.
func (e *sshEnv) tool(stdin string, name string, args ...string) (string, string, int) {
	e.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+e.sock, "HOME="+e.dir,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Dir = e.dir
	return runBounded(e.t, cmd)
}

func (e *sshEnv) write(name, content string) string {
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// TestSSHAgentWithOpenSSH: OpenSSH's own tools use keys kept in kr through
// the agent's SSH socket: listing, a login to a loopback sshd, ssh-keygen
// -Y signatures, signed git commits; a confirm key whose use is denied;
// another user; and kr's lock.
func TestSSHAgentWithOpenSSH(t *testing.T) {
	e := newSSHEnv(t)
	pub := strings.TrimSpace(e.must("ssh", "keygen", "login"))
	env := e.must("ssh", "env")
	e.sock = strings.Trim(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(env), "SSH_AUTH_SOCK="), "; export SSH_AUTH_SOCK;"), "'")
	if e.sock != filepath.Join(e.run, "kr", "ssh.sock") {
		t.Fatalf("kr ssh env printed %q", env)
	}

	out, _, code := e.tool("", "ssh-add", "-L")
	if code != 0 || strings.TrimSpace(out) != pub {
		t.Fatalf("ssh-add -L: exit %d, %q; want %q", code, out, pub)
	}

	t.Run("sign", func(t *testing.T) {
		pubFile := e.write("login.pub", pub+"\n")
		sig, stderr, code := e.tool("signed text", "ssh-keygen", "-Y", "sign", "-f", pubFile, "-n", "file")
		if code != 0 {
			t.Fatalf("ssh-keygen -Y sign: %s", stderr)
		}
		sigFile := e.write("text.sig", sig)
		allowed := e.write("allowed", "me@example.com "+pub+"\n")
		if _, stderr, code := e.tool("signed text", "ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "me@example.com", "-n", "file", "-s", sigFile); code != 0 {
			t.Fatalf("ssh-keygen -Y verify: %s", stderr)
		}
		if _, _, code := e.tool("other text", "ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "me@example.com", "-n", "file", "-s", sigFile); code == 0 {
			t.Fatal("the signature verified other text")
		}
	})

	t.Run("git", func(t *testing.T) {
		testenv.Tool(t, "git", "git")
		allowed := e.write("git-allowed", "me@example.com "+pub+"\n")
		repo := filepath.Join(e.dir, "repo")
		for _, args := range [][]string{
			{"init", "-q", repo},
			{"-C", repo, "config", "user.name", "Me"},
			{"-C", repo, "config", "user.email", "me@example.com"},
			{"-C", repo, "config", "gpg.format", "ssh"},
			{"-C", repo, "config", "user.signingkey", "key::" + pub},
			{"-C", repo, "config", "gpg.ssh.allowedSignersFile", allowed},
			{"-C", repo, "commit", "-q", "-S", "--allow-empty", "-m", "signed by kr"},
		} {
			if _, stderr, code := e.tool("", "git", args...); code != 0 {
				t.Fatalf("git %v: %s", args, stderr)
			}
		}
		out, stderr, code := e.tool("", "git", "-C", repo, "verify-commit", "HEAD")
		if code != 0 || !strings.Contains(out+stderr, `Good "git" signature for me@example.com`) {
			t.Fatalf("git verify-commit: exit %d: %s%s", code, out, stderr)
		}
	})

	t.Run("login", func(t *testing.T) {
		careful := strings.TrimSpace(e.must("ssh", "keygen", "--confirm", "careful"))
		port := e.sshd(t, pub+"\n")
		out, stderr, code := e.login(port)
		if code != 0 || strings.TrimSpace(out) != "logged in" {
			t.Fatalf("ssh login with kr's key: exit %d: %s%s", code, out, stderr)
		}
		// ssh bound the connection to the host key before asking for a
		// signature: the agent verified the host's session-bind signature
		// (ssh -v says so; a refusal reads "agent_bind_hostkey").
		if !strings.Contains(stderr, "bound agent to hostkey") {
			t.Fatalf("the agent refused ssh's session-bind:\n%s", stderr)
		}
		// Now only the confirm key is authorized: a denied confirmation
		// fails the login, an allowed one lets it through.
		port = e.sshd(t, careful+"\n")
		if _, stderr, code := e.login(port); code == 0 {
			t.Fatalf("login succeeded with the confirmation denied: %s", stderr)
		}
		if asked, _ := os.ReadFile(filepath.Join(e.dir, "asked")); strings.Count(string(asked), "confirm") != 1 {
			t.Fatalf("pinentry was asked %q times, want once", asked)
		}
		e.answer(true)
		if out, stderr, code := e.login(port); code != 0 || strings.TrimSpace(out) != "logged in" {
			t.Fatalf("login with the confirmation given: exit %d: %s%s", code, out, stderr)
		}
	})

	t.Run("other-user", func(t *testing.T) {
		testenv.Tool(t, "setpriv", "util-linux")
		testenv.Root(t)
		out, stderr, code := e.tool("", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ssh-add", "-L")
		if code == 0 || strings.Contains(out, "ssh-ed25519") {
			t.Fatalf("another user's ssh-add -L: exit %d: %s%s", code, out, stderr)
		}
		// With the directory and socket opened to everyone, the kernel's
		// word on each peer still turns the other user away.
		for _, d := range []string{filepath.Dir(e.run), e.run, filepath.Dir(e.sock)} {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatal(err)
			}
			os.Chmod(d, 0o711)
			defer os.Chmod(d, fi.Mode().Perm())
		}
		os.Chmod(e.sock, 0o666)
		defer os.Chmod(e.sock, 0o600)
		out, stderr, code = e.tool("", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "ssh-add", "-L")
		if code == 0 || strings.Contains(out, "ssh-ed25519") || strings.Contains(stderr, "Permission denied") {
			t.Fatalf("another user, socket open to all: exit %d: %s%s", code, out, stderr)
		}
	})

	t.Run("locked", func(t *testing.T) {
		e.must("lock")
		out, _, code := e.tool("", "ssh-add", "-L")
		if code != 0 || !strings.Contains(out, pub) {
			t.Fatalf("ssh-add -L after kr lock: exit %d: %q", code, out)
		}
		pubFile := e.write("login.pub", pub+"\n")
		if _, _, code := e.tool("text", "ssh-keygen", "-Y", "sign", "-f", pubFile, "-n", "file"); code == 0 {
			t.Fatal("signed after kr lock")
		}
		cmd := e.kr("unlock")
		cmd.Env = append(cmd.Env, "KR_PASSPHRASE=pw")
		if _, stderr, code := runBounded(t, cmd); code != 0 || !strings.Contains(stderr, "SSH key(s) loaded") {
			t.Fatalf("kr unlock: exit %d: %s", code, stderr)
		}
		if _, stderr, code := e.tool("text", "ssh-keygen", "-Y", "sign", "-f", pubFile, "-n", "file"); code != 0 {
			t.Fatalf("sign after kr unlock: %s", stderr)
		}
	})
}

// sshd starts Debian's sshd on a free loopback port with a throwaway host
// key and configuration, accepting authorized for the current user.
func (e *sshEnv) sshd(t *testing.T, authorized string) int {
	t.Helper()
	sshd := "/usr/sbin/sshd"
	if _, err := os.Stat(sshd); err != nil {
		testenv.Skip(t, "sshd is not installed (openssh-server)")
	}
	testenv.Root(t)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("host key: %v: %s", err, out)
	}
	hostPub, _ := os.ReadFile(hostKey + ".pub")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, []byte(authorized), 0o600)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PidFile none
LogLevel VERBOSE
`, port, hostKey, auth)), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sshd, "-D", "-e", "-f", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "Server listening on") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("sshd exited before listening")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sshd did not listen within 30s")
	}
	e.write("known_hosts", fmt.Sprintf("[127.0.0.1]:%d %s", port, hostPub))
	return port
}

func (e *sshEnv) login(port int) (string, string, int) {
	return e.tool("", "ssh", "-F", "/dev/null", "-p", fmt.Sprint(port),
		"-o", "UserKnownHostsFile="+filepath.Join(e.dir, "known_hosts"), "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "PasswordAuthentication=no", "-o", "IdentityFile=none",
		"-o", "IdentityAgent="+e.sock, "-v", "-l", currentUser(), "127.0.0.1", "echo logged in")
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	out, _ := exec.Command("id", "-un").Output()
	return strings.TrimSpace(string(out))
}
