package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBindOSKeyring: an identity bound to a real gnome-keyring opens a
// shared vault with no terminal and no passphrase; once the login
// collection is locked over D-Bus, kr asks pinentry (or, with none, exits
// 4 as locked); the identity directory copied to a fresh home, without the
// keyring item, opens only with the passphrase or the recovery code; and
// unbind removes the item and the wrapping.
func TestBindOSKeyring(t *testing.T) {
	got := runInKeyringSession(t, `
set -e
kr identity >/dev/null 2>&1
kr vault init "$HOME/team" --mount team >/dev/null 2>&1
printf teamv | kr set team/db
kr identity bind os 2>&1 | sed 's/^/bind: /'
# a fake pinentry that answers the passphrase and says it was asked
cat > "$HOME/pinentry-fake" <<'PIN'
#!/bin/sh
echo "asked" >> "$HOME/pinentry.log"
echo OK
while read -r cmd rest; do
	case "$cmd" in
	GETPIN) echo "D pw"; echo OK ;;
	BYE) echo OK; exit 0 ;;
	*) echo OK ;;
	esac
done
PIN
chmod +x "$HOME/pinentry-fake"
set +e
unset KR_PASSPHRASE
echo "item: $(secret-tool search --all service kr-device-key 2>&1 | grep -c '^secret = ')"
echo "bound get: $(setsid kr get team/db </dev/null 2>err.txt) exit $?"; cat err.txt
kr identity status | grep -E 'bindings|last unlock' | sed 's/ (that way since .*//; s/^ */status: /'

# the identity directory (binding and all) on a home without the item:
# unbind here removes the item (and this home's wrapping)
fresh="$HOME/fresh"; mkdir -p "$fresh/data/kr"; cp -a "$XDG_DATA_HOME/kr/identity" "$fresh/data/kr/"
cp -a "$XDG_CONFIG_HOME" "$fresh/config"
kr identity unbind 2>&1 | sed 's/^/unbind: /'
echo "item after unbind: $(secret-tool search --all service kr-device-key 2>&1 | grep -c '^secret = ')"
ls "$XDG_DATA_HOME/kr/identity" | grep -c '^bind-os' | sed 's/^/files after unbind: /'
KR_PINENTRY=never setsid kr get team/db </dev/null >/dev/null 2>&1; echo "unbound get: exit $?"
echo "unbound, passphrase: $(KR_PASSPHRASE=pw kr get team/db) exit $?"
kr identity unbind 2>&1 | sed 's/^/unbind again: /'
ls "$fresh/data/kr/identity" | grep -c '^bind-os.age$' | sed 's/^/copied binding: /'
f() { HOME="$fresh" XDG_DATA_HOME="$fresh/data" XDG_CONFIG_HOME="$fresh/config" KR_PINENTRY=never setsid kr "$@" </dev/null; }
f get team/db >/dev/null 2>err.txt; echo "fresh home, no passphrase: exit $?"; cat err.txt
echo "fresh home, passphrase: $(KR_PASSPHRASE=pw f get team/db 2>/dev/null) exit $?"

# bound again, then the login collection locked over D-Bus
KR_PASSPHRASE=pw kr identity bind os >/dev/null 2>&1
echo "bound again: $(setsid kr get team/db </dev/null 2>/dev/null) exit $?"
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
KR_PINENTRY=never setsid kr get team/db </dev/null >/dev/null 2>err.txt; echo "locked, no pinentry: exit $?"; cat err.txt
echo "locked, pinentry: $(KR_PINENTRY="$HOME/pinentry-fake" setsid kr get team/db </dev/null 2>/dev/null) exit $?"
echo "pinentry asked: $(cat "$HOME/pinentry.log" 2>/dev/null | wc -l)"
`, "KR_PASSPHRASE=pw", "DISPLAY=", "WAYLAND_DISPLAY=", "KR_PINENTRY=")
	for _, want := range []string{
		"bind: kr: bound your identity to the login keyring (Secret Service); its passphrase and recovery code still open it\n",
		"bind: kr: any program you run can read that key",
		"item: 1\n",
		"bound get: teamv exit 0\n",
		"status: bindings     os (the login keyring (Secret Service)) (then the passphrase or recovery code)\nstatus: last unlock  os\n",
		"locked, no pinentry: exit 4\n",
		"kr: the os binding of your identity did not open it: the login keyring (Secret Service) did not give the key",
		"locked, pinentry: teamv exit 0\npinentry asked: 1\n",
		"bound again: teamv exit 0\n",
		"copied binding: 1\n",
		"fresh home, no passphrase: exit 4\n",
		"fresh home, passphrase: teamv exit 0\n",
		"unbind: kr: unbound your identity from os\n",
		"item after unbind: 0\n",
		"files after unbind: 0\n",
		"unbound get: exit 4\n",
		"unbound, passphrase: teamv exit 0\n",
		"unbind again: kr: error: no such binding: your identities have no device binding\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "bound get: teamv exit 0\nkr:") {
		t.Errorf("the bound read said something on stderr")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}

// TestUnlockUsesOSBinding: kr unlock tries the device binding before any
// passphrase, as reads do, so a desktop whose identity is bound to the
// login keyring unlocks the agent with no terminal, no KR_PASSPHRASE and
// no pinentry; the agent then serves reads with the keyring item gone.
func TestUnlockUsesOSBinding(t *testing.T) {
	got := runInKeyringSession(t, `
set -e
kr identity >/dev/null 2>&1
kr vault init "$HOME/team" --mount team >/dev/null 2>&1
printf teamv | kr set team/db
kr identity bind os >/dev/null 2>&1
set +e
unset KR_PASSPHRASE
export KR_NO_AGENT= KR_PINENTRY=never
trap 'kr agent stop >/dev/null 2>&1' EXIT
setsid kr unlock --ttl 5m </dev/null 2>err.txt; echo "unlock: exit $?"; sed 's/ until .*//' err.txt
kr identity status | grep 'last unlock' | sed 's/ (that way since .*//; s/^ */status: /'
secret-tool clear service kr-device-key
echo "item gone: $(secret-tool search --all service kr-device-key 2>&1 | grep -c '^secret = ')"
echo "get through the agent: $(setsid kr get team/db </dev/null 2>&1) exit $?"
kr lock >/dev/null 2>&1
setsid kr unlock </dev/null >/dev/null 2>err.txt; echo "unlock without the item: exit $?"; cat err.txt
`, "KR_PASSPHRASE=pw", "DISPLAY=", "WAYLAND_DISPLAY=", "KR_PINENTRY=")
	for _, want := range []string{
		"unlock: exit 0\n",
		"unlocked in the agent by its os binding",
		"status: last unlock  os\n",
		"item gone: 0\n",
		"get through the agent: teamv exit 0\n",
		"unlock without the item: exit 4\n",
		"kr: the os binding of your identity did not open it: the login keyring (Secret Service) did not give the key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}

// TestIdentityRecoveryCodeFreshHome: the identity directory, bound to the
// login keyring, copied to a fresh home without the keyring item opens
// with the recovery code: kr identity recover takes the code shown (on a
// terminal only) when the identity was created and sets a new passphrase,
// which then reads the shared vault and binds the identity again there. A
// wrong code changes nothing.
func TestIdentityRecoveryCodeFreshHome(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	// kr shows the recovery code only on a terminal: create the identity on
	// a pty and read the code off it.
	env := append(krEnv(t, tmp), "XDG_DATA_HOME="+data, "KR_PASSPHRASE=pw")
	s := startOnPty(t, env, "kr", "identity")
	out, err := s.finish(t)
	if err != nil {
		t.Fatalf("kr identity on a pty: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`kr: recovery code: ([A-Z0-9-]{20,})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no recovery code on the terminal:\n%s", out)
	}
	codeFile := filepath.Join(tmp, "code")
	if err := os.WriteFile(codeFile, []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	got := runInKeyringSession(t, `
set -e
kr vault init "$HOME/team" --mount team >/dev/null 2>&1
printf teamv | kr set team/db
kr identity bind os >/dev/null 2>&1
set +e
unset KR_PASSPHRASE
echo "bound get: $(setsid kr get team/db </dev/null 2>/dev/null) exit $?"
fresh="$HOME/fresh"; mkdir -p "$fresh/data/kr"
cp -a "$XDG_DATA_HOME/kr/identity" "$fresh/data/kr/"; cp -a "$XDG_CONFIG_HOME" "$fresh/config"
secret-tool clear service kr-device-key
f() { HOME="$fresh" XDG_DATA_HOME="$fresh/data" XDG_CONFIG_HOME="$fresh/config" KR_PINENTRY=never setsid kr "$@" </dev/null; }
f get team/db >/dev/null 2>err.txt; echo "fresh home, nothing: exit $?"; cat err.txt
printf np > np.txt
cp "$fresh/data/kr/identity/identity.age" before.age
printf 'ABCDE-FGHJK-LMNPQ-RSTUV-WXYZ2-34567' > wrong.txt
KR_RECOVERY_CODE_FILE=wrong.txt KR_NEW_PASSPHRASE_FILE=np.txt f identity recover 2>&1 | sed 's/^/wrong code: /'
cmp -s before.age "$fresh/data/kr/identity/identity.age" && echo "identity.age after a wrong code: unchanged"
f identity recover 2>&1 | sed 's/^/no code: /'
KR_RECOVERY_CODE_FILE="$CODE_FILE" KR_NEW_PASSPHRASE_FILE=np.txt f identity recover 2>&1 | sed 's/^/recover: /'
echo "new passphrase: $(KR_PASSPHRASE=np f get team/db 2>/dev/null) exit $?"
KR_PASSPHRASE=pw f get team/db >/dev/null 2>&1; echo "old passphrase: exit $?"
KR_PASSPHRASE=np f identity bind os 2>&1 | sed 's/^/bind again: /'
echo "bound again, fresh home: $(f get team/db 2>/dev/null) exit $?"

# the recovery code, given in the passphrase's place, binds an identity
# whose passphrase is not at hand
fresh2="$HOME/fresh2"; mkdir -p "$fresh2/data/kr"
cp -a "$XDG_DATA_HOME/kr/identity" "$fresh2/data/kr/"; cp -a "$XDG_CONFIG_HOME" "$fresh2/config"
secret-tool clear service kr-device-key
g() { HOME="$fresh2" XDG_DATA_HOME="$fresh2/data" XDG_CONFIG_HOME="$fresh2/config" KR_PINENTRY=never setsid kr "$@" </dev/null; }
KR_PASSPHRASE="$(cat wrong.txt)" g identity bind os >/dev/null 2>&1; echo "bind with a wrong code: exit $?"
echo "items: $(secret-tool search --all service kr-device-key 2>&1 | grep -c '^secret = ')"
KR_PASSPHRASE="$(tr a-z A-Z < "$CODE_FILE" | tr -d '-')" g identity bind os 2>&1 | sed 's/^/bind with the code: /'
echo "bound by the code: $(g get team/db 2>/dev/null) exit $?"
`, "KR_PASSPHRASE=pw", "DISPLAY=", "WAYLAND_DISPLAY=", "KR_PINENTRY=", "XDG_DATA_HOME="+data, "CODE_FILE="+codeFile)
	for _, want := range []string{
		"bound get: teamv exit 0\n",
		"fresh home, nothing: exit 4\n",
		"kr: the os binding of your identity did not open it",
		"wrong code: kr: error: recover your identity: wrong passphrase: the recovery code does not open",
		"identity.age after a wrong code: unchanged\n",
		"no code: kr: error: recover your identity: the recovery code is needed and there is no terminal\nno code: kr: hint: set KR_RECOVERY_CODE_FILE\n",
		"recover: kr: new passphrase set for your identity in /", "/fresh/data/kr/identity\n",
		"new passphrase: teamv exit 0\n",
		"old passphrase: exit 1\n",
		"bind again: kr: bound your identity to the login keyring (Secret Service)",
		"bound again, fresh home: teamv exit 0\n",
		"bind with a wrong code: exit 1\n",
		"items: 0\n",
		"bind with the code: kr: bound your identity to the login keyring (Secret Service)",
		"bound by the code: teamv exit 0\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}
