package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestSecretServiceCLI runs the kr binary against a real gnome-keyring in a
// private D-Bus session, next to the clients people already use: what kr
// stores, secret-tool, Python keyring and zalando/go-keyring read, and what
// they store, kr reads and lists.
func TestSecretServiceCLI(t *testing.T) {
	need := []string{"dbus-run-session", "gnome-keyring-daemon", "secret-tool", "/usr/bin/python3"}
	for _, tool := range need {
		testenv.Tool(t, tool, "dbus, gnome-keyring, libsecret-tools, python3-keyring")
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
		"XDG_RUNTIME_DIR="+tmp, "KR_BACKEND=auto", "KR_CONFIG_DIR=", "KR_VAULT=", "DEFAULT_VAULT="+filepath.Join(tmp, "data", "kr", "vault"), "KR_NO_AGENT=1")
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
		"backend        secretservice, service kr (recorded)",
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

// runInKeyringSession runs script under a private D-Bus session with a
// real, unlocked gnome-keyring; $KRBIN is kr, keyring_pid prints the
// daemon's pid once a kr call has found it.
// It skips (fails in CI) without the tools.
func runInKeyringSession(t *testing.T, script string, env ...string) string {
	t.Helper()
	for _, tool := range []string{"dbus-run-session", "dbus-send", "gnome-keyring-daemon", "secret-tool"} {
		testenv.Tool(t, tool, "dbus, gnome-keyring, libsecret-tools")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prelude := `set -u
cd "$HOME"
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
kr() { KR_TEST_RUN_AS_KR=1 "$KRBIN" "$@"; }
keyring_pid() {
	dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
		org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets | awk '{print $2}'
}
`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", prelude+script)
	cmd.Env = append(os.Environ(), "KRBIN="+exe, "HOME="+tmp,
		"XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_RUNTIME_DIR="+tmp, "KR_BACKEND=", "KR_CONFIG_DIR=", "KR_VAULT=", "DEFAULT_VAULT="+filepath.Join(tmp, "data", "kr", "vault"), "KR_NO_AGENT=1")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return string(out)
}

// TestStalledStoreNoSplitBrain: a Secret Service that stalls while kr
// writes is an error (exit 4), never a reason to write elsewhere: once it
// recovers, kr serves the value last stored there.
func TestStalledStoreNoSplitBrain(t *testing.T) {
	got := runInKeyringSession(t, `
printf first | kr set db/pw
echo "recorded: $(kr backend)"
KEYRING_PID=$(keyring_pid)
kill -STOP "$KEYRING_PID"
printf second | kr --timeout 2s set db/pw 2>err.txt; echo "stalled set: exit $?"
sed 's/^/  /' err.txt
test -e "$DEFAULT_VAULT" && echo "file vault: created" || echo "file vault: none"
kill -CONT "$KEYRING_PID"
echo "after: $(kr get db/pw)"
printf third | kr set db/pw && echo "then: $(kr get db/pw)"

# With nothing recorded yet, a stalled store is an error too, and nothing
# gets recorded.
export KR_CONFIG_DIR="$HOME/config2"
kill -STOP "$KEYRING_PID"
printf second | kr --timeout 2s set fresh/pw 2>/dev/null; echo "stalled first set: exit $?"
test -e "$KR_CONFIG_DIR/stores.json" && echo "record: made" || echo "record: none"
test -e "$DEFAULT_VAULT" && echo "file vault: created" || echo "file vault: none"
kill -CONT "$KEYRING_PID"
printf ok | kr set fresh/pw 2>/dev/null && echo "recovered: $(kr get fresh/pw)"
`, "KR_PASSPHRASE=pw")
	for _, want := range []string{
		"recorded: secretservice (recorded for service kr",
		"stalled set: exit 4\n",
		"  kr: error: the Secret Service, the store recorded for this service, did not answer in time",
		"  kr: hint: the Secret Service did not answer for 2s",
		"file vault: none\n",
		"after: first\n",
		"then: third\n",
		"stalled first set: exit 4\n",
		"record: none\n",
		"recovered: ok\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "file vault: created") {
		t.Errorf("a stalled store sent a write to the file vault")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}

// TestNotFoundHintNamesOtherStore: a name missing from the store in use but
// present in the other one kr knows gets a hint saying where.
func TestNotFoundHintNamesOtherStore(t *testing.T) {
	got := runInKeyringSession(t, `
printf v | kr set in/keyring
printf v | kr --backend file set in/vault
kr get in/vault 2>&1; echo "exit $?"
kr --backend secretservice get in/vault 2>&1 | grep -c 'but in' || true
kr --service other backend file
printf v | secret-tool store --label=x service other username only/ss
kr --service other get only/ss 2>&1; echo "exit $?"
`, "KR_PASSPHRASE=pw")
	for _, want := range []string{
		"kr: hint: in/vault is not in secretservice but in file: read it with --backend file",
		"exit 3\n0\n", // named with --backend: no look elsewhere
		"kr: hint: only/ss is not in file but in secretservice: read it with --backend secretservice",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// TestNamespaceDesktopTeam: with the Secret Service recorded and a team
// vault mounted at team/, a name says where its secret lives: team/ names
// go to the vault and never reach the Secret Service, others go to the
// Secret Service; ls lists both; exec resolves both; a vault named by
// --vault or KR_VAULT is the store of that command; mv carries NUL, CR/LF
// and 64 KiB byte for byte between the homes; and export --keep-names
// copies a whole namespace into another store.
func TestNamespaceDesktopTeam(t *testing.T) {
	got := runInKeyringSession(t, `
set -e
printf personal | kr set db/prod
echo "recorded: $(kr backend)"
kr vault init "$HOME/team" --mount team 2>&1 | grep -c 'mounted the vault' | sed 's/^/mount said: /'
printf teamv | kr set team/db/prod
test -f "$HOME/team/secrets/db/prod.age" && echo "team file: yes"
echo "in the Secret Service under team/: $(secret-tool search --all service kr 2>&1 | grep -c '^attribute.username = team/' || true)"
echo "ss db/prod: $(secret-tool lookup service kr username db/prod)"
echo "ls:"; kr ls
kr exec -e P=team/db/prod -e Q=db/prod -- sh -c 'echo "exec: $P $Q"'
echo "ref: $(TEAM=kr://team/db/prod kr env --format dotenv | grep TEAM)"

kr vault init "$HOME/other" >/dev/null 2>&1
printf v1 | kr --vault "$HOME/other" set x/flag 2>notice.txt
printf v2 | KR_VAULT="$HOME/other" kr set x/env 2>>notice.txt
for n in x/flag x/env; do test -f "$HOME/other/secrets/$n.age" && echo "$n: in the vault"; done
secret-tool lookup service kr username x/flag >/dev/null 2>&1 || echo "x/flag: not in the Secret Service"
echo "notices: $(grep -c 'names the file vault' notice.txt)"
sed 's/^/  /' notice.txt

head -c 65536 /dev/urandom > big; printf 'a\0b\r\nc\r\n' >> big
kr set bin/v < big
kr mv bin/v team/bin/v
kr get team/bin/v | cmp - big && echo "mv into the vault: same bytes"
secret-tool lookup service kr username bin/v >/dev/null 2>&1 || echo "mv into the vault: source gone"
kr mv team/bin/v bin/v
kr get bin/v | cmp - big && echo "mv back: same bytes"
test -e "$HOME/team/secrets/bin/v.age" || echo "mv back: vault copy gone"

kr export --keep-names --format json > all.json
kr --vault "$HOME/copy" init >/dev/null 2>&1
kr --service copy --vault "$HOME/copy" import all.json
for n in $(kr ls); do
	kr get "$n" > a; kr --service copy --vault "$HOME/copy" get "$n" > b
	cmp -s a b && echo "copied: $n" || echo "differs: $n"
done
`, "KR_PASSPHRASE=pw")
	for _, want := range []string{
		"recorded: secretservice (recorded for service kr",
		"mount said: 1\n",
		"team file: yes\n",
		"in the Secret Service under team/: 0\n",
		"ss db/prod: personal\n",
		"ls:\ndb/prod\nteam/db/prod\nexec: teamv personal\n",
		"ref: TEAM=\"teamv\"\n",
		"x/flag: in the vault\nx/env: in the vault\nx/flag: not in the Secret Service\n",
		"notices: 1\n",
		"mv into the vault: same bytes\nmv into the vault: source gone\n",
		"mv back: same bytes\nmv back: vault copy gone\n",
		"copied: bin/v\ncopied: db/prod\ncopied: team/db/prod\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "differs") {
		t.Error("export --keep-names | import changed a value")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}

// TestHeadlessKeyringNoLogin: a gnome-keyring started without a login
// keyring on a machine with no display. Its prompt to create the default
// keyring cannot be shown, so kr says that (not "dismissed", which blames a
// user who never saw a dialog) and names the file vault; doctor warns of it
// before any write; kr unlock, which opens file vaults, explains --cache
// instead of sending the user to create a vault.
func TestHeadlessKeyringNoLogin(t *testing.T) {
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		testenv.Tool(t, tool, "dbus, gnome-keyring")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	script := `set -u
gnome-keyring-daemon --start --components=secrets >/dev/null 2>&1
kr() { KR_TEST_RUN_AS_KR=1 "$KRBIN" "$@"; }
echo "doctor:"; kr doctor 2>&1
printf v | kr set db/x 2>&1; echo "set: exit $?"
kr unlock 2>&1; echo "unlock: exit $?"
`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "KRBIN="+exe, "HOME="+tmp, "DISPLAY=", "WAYLAND_DISPLAY=",
		"XDG_DATA_HOME="+filepath.Join(tmp, "data"), "XDG_CONFIG_HOME="+filepath.Join(tmp, "config"),
		"XDG_RUNTIME_DIR="+tmp, "KR_BACKEND=secretservice", "KR_CONFIG_DIR=", "KR_VAULT=", "KR_NO_AGENT=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"warn  secretservice  service :", "has no default or login keyring",
		"kr: error: set db/x: the Secret Service has no default or login keyring, and its prompt to create one was dismissed or could not be shown\n",
		"kr: hint: on a machine with no display, 'kr backend file' keeps secrets in an age file vault",
		"set: exit 4\n",
		"kr: error: kr unlock opens a file vault, and the store in use is the Secret Service",
		"kr: hint: 'kr unlock --cache NAME...' keeps its values in the agent",
		"unlock: exit 2\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "prompt was dismissed") || strings.Contains(got, "no vault in") {
		t.Errorf("the old, misleading words are back:\n%s", got)
	}
}
