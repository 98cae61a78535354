package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretServiceCLI runs the kr binary against a real gnome-keyring in a
// private D-Bus session, next to the clients people already use: what kr
// stores, secret-tool, Python keyring and zalando/go-keyring read, and what
// they store, kr reads and lists (issue 3, must show 2).
func TestSecretServiceCLI(t *testing.T) {
	need := []string{"dbus-run-session", "gnome-keyring-daemon", "secret-tool", "/usr/bin/python3"}
	for _, tool := range need {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (CI must install dbus, gnome-keyring, libsecret-tools, python3-keyring)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	gokr := filepath.Join(tmp, "gokeyring")
	build := exec.Command("go", "build", "-o", gokr, "github.com/kr-keyring/kr/backends/secretservice/internal/gokeyring")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build gokeyring: %v\n%s", err, out)
	}
	script := `set -eu
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
kr() { KR_TEST_RUN_AS_KR=1 "$KRBIN" "$@"; }
export PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring

printf 'from-kr v@lue' | kr set db/prod
echo "secret-tool: $(secret-tool lookup service kr username db/prod)"
echo "python: $(/usr/bin/python3 -m keyring get kr db/prod)"
echo "go-keyring: $("$GOKR" get kr db/prod)"

printf 'from-secret-tool' | secret-tool store --label=x service kr username st/item
printf 'from-python\n' | /usr/bin/python3 -m keyring set kr py/item
echo "kr reads secret-tool: $(kr get st/item)"
echo "kr reads python: $(kr get py/item)"
echo "ls:"; kr ls
echo "doctor:"; kr doctor
kr rm st/item
echo "after rm: $(secret-tool lookup service kr username st/item || echo gone)"

# kr unlock --cache: the agent keeps the value for the ttl; kr get reads it
# there, even once the store no longer has it, until kr lock.
KR_NO_AGENT= kr unlock --cache db/prod --ttl 1m
secret-tool clear service kr username db/prod
echo "cached: $(KR_NO_AGENT= kr get db/prod)"
KR_NO_AGENT= kr lock
KR_NO_AGENT= kr get db/prod 2>/dev/null || echo "after lock: exit $?"
KR_NO_AGENT= kr agent stop
`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "KRBIN="+exe, "GOKR="+gokr, "HOME="+tmp,
		"XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_RUNTIME_DIR="+tmp, "KR_BACKEND=auto", "KR_VAULT="+filepath.Join(tmp, "vault"), "KR_NO_AGENT=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"secret-tool: from-kr v@lue\n",
		"python: from-kr v@lue\n",
		"go-keyring: from-kr v@lue\n",
		"kr reads secret-tool: from-secret-tool\n",
		"kr reads python: from-python\n",
		"ls:\ndb/prod\npy/item\nst/item\n",
		"backend        secretservice (chosen by auto)",
		"after rm: gone\n",
		"cached: from-kr v@lue\n",
		"after lock: exit 3\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}
