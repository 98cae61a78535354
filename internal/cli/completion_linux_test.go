package cli_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestCompleteSecretService: completing a name lists the unlocked items of
// the Secret Service segment by segment; once the collection is locked it
// lists nothing, and a dbus-monitor sees kr call neither Unlock nor any
// Prompt. No agent appears, though the agent is allowed. The control, kr
// get on the locked collection, shows the monitor would have seen an
// Unlock. A stalled service ends a completion after its
// own short bound, not the command's --timeout (the 20 s guard only keeps a
// regression from hanging the test).
func TestCompleteSecretService(t *testing.T) {
	if _, err := exec.LookPath("dbus-monitor"); err != nil {
		t.Skip("dbus-monitor is not installed")
	}
	got := runInKeyringSession(t, `
cd "$HOME"
printf v | kr set db/prod
printf v | kr set db/replica/eu
printf v | kr set web/token
printf v | kr --service other set db/other
unset KR_NO_AGENT
echo "unlocked:"; kr __complete get db/ 2>/dev/null
echo "other service:"; kr __complete --service other get db/ 2>/dev/null
echo "cache:"; kr __complete unlock --cache db/prod,db/ 2>/dev/null
echo "exec:"; kr __complete exec -e TOKEN=w 2>/dev/null

coll=$(dbus-send --session --print-reply=literal --dest=org.freedesktop.secrets /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.ReadAlias string:default | tr -d ' ')
dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
	org.freedesktop.Secret.Service.Lock "array:objpath:$coll" >/dev/null
echo "locked:$(dbus-send --session --print-reply=literal --dest=org.freedesktop.secrets "$coll" \
	org.freedesktop.DBus.Properties.Get string:org.freedesktop.Secret.Collection string:Locked | tr -s ' ')"

dbus-monitor --session >monitor.txt 2>/dev/null &
MONITOR=$!
# marker NAME: a call the monitor shows, once it is attached and has
# written out everything before it.
marker() {
	i=0
	until grep -q "$1" monitor.txt; do
		dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
			org.freedesktop.DBus.NameHasOwner "string:$1" >/dev/null
		i=$((i+1)); [ "$i" -lt 500 ] || { echo "monitor never showed $1"; exit 1; }
		sleep 0.02
	done
}
marker kr.completion.start
echo "locked completion:"; kr __complete get db/ 2>/dev/null
marker kr.completion.end
KR_NO_AGENT=1 kr --timeout 3s get db/prod >/dev/null 2>&1
marker kr.control.end
kill "$MONITOR"
sed -n '/kr.completion.start/,/kr.completion.end/p' monitor.txt >completion.txt
echo "completion Unlock calls: $(grep -c 'member=Unlock' completion.txt)"
echo "completion prompts: $(grep -c -e 'Secret.Prompt' -e '/prompt/' completion.txt)"
echo "completion asked Locked: $(grep -c 'string "Locked"' completion.txt)"
sed -n '/kr.completion.end/,/kr.control.end/p' monitor.txt >control.txt
echo "control Unlock calls: $(grep -c 'member=Unlock' control.txt)"

# A store that stalls costs a completion its one second, not --timeout.
KEYRING_PID=$(keyring_pid)
kill -STOP "$KEYRING_PID"
out=$(KR_TEST_RUN_AS_KR=1 timeout 20 "$KRBIN" --timeout 1h __complete get db/ 2>/dev/null); code=$?
kill -CONT "$KEYRING_PID"
echo "stalled: exit $code, $out"
test -e "$XDG_RUNTIME_DIR/kr" && echo "agent dir: made" || echo "agent dir: none"
`)
	for _, want := range []string{
		"unlocked:\ndb/prod\ndb/replica/\n:6\n",
		"other service:\ndb/other\n:4\n",
		"cache:\ndb/prod,db/replica/\n:6\n",
		"exec:\nTOKEN=web/\n:6\n",
		"locked: variant boolean true\n",
		"locked completion:\n:4\n",
		"completion Unlock calls: 0\n",
		"completion prompts: 0\n",
		"control Unlock calls: 1\n",
		"stalled: exit 0, :4\n",
		"agent dir: none\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if asked := regexp.MustCompile(`completion asked Locked: ([0-9]+)`).FindStringSubmatch(got); asked == nil || asked[1] == "0" {
		t.Errorf("the monitor saw no Locked question during the completion: it did not watch kr")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}
