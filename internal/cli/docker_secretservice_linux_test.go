package cli_test

import (
	"strings"
	"testing"

	"github.com/kr-keyring/kr/internal/testenv"
)

// TestDockerSecretServiceInterop: on a real gnome-keyring, Debian's
// docker-credential-secretservice reads the login docker-credential-kr
// stored and kr reads its own, both list both, either erases the other's;
// kr's item has docker's display label and attributes.
func TestDockerSecretServiceInterop(t *testing.T) {
	testenv.Tool(t, "docker-credential-secretservice", "golang-docker-credential-helpers")
	got := runInKeyringSession(t, `
mkdir bin && ln -s "$KRBIN" bin/docker-credential-kr
dck() { KR_TEST_RUN_AS_KR=1 ./bin/docker-credential-kr "$@"; }
dss() { docker-credential-secretservice "$@"; }
printf '{"ServerURL":"kr.example:5000","Username":"alice","Secret":"from kr"}' | dck store
echo "ss reads kr: $(printf kr.example:5000 | dss get)"
printf '{"ServerURL":"https://ss.example/v1/","Username":"<token>","Secret":"from-ss"}' | dss store
echo "kr reads ss: $(printf https://ss.example/v1/ | dck get)"
echo "kr list: $(dck list </dev/null)"
echo "ss list: $(dss list </dev/null)"
printf x | kr set plain/secret
echo "kr list with a kr secret: $(dck list </dev/null)"
echo "kr's item:"
secret-tool search --all server kr.example:5000 2>&1 | grep -E '^(label|schema|attribute)' | sort | sed 's/^/  /'
printf '{"ServerURL":"kr.example:5000","Username":"carol","Secret":"again"}' | dck store
echo "relogin: $(printf kr.example:5000 | dss get) items=$(secret-tool search --all server kr.example:5000 2>&1 | grep -c '^label')"
printf kr.example:5000 | dss erase
printf kr.example:5000 | dck get; echo "kr get after ss erase: exit $?"
printf https://ss.example/v1/ | dck erase
printf https://ss.example/v1/ | dss get; echo "ss get after kr erase: exit $?"
echo "kr ls: $(kr ls)"
`)
	for _, want := range []string{
		`ss reads kr: {"ServerURL":"kr.example:5000","Username":"alice","Secret":"from kr"}` + "\n",
		`kr reads ss: {"ServerURL":"https://ss.example/v1/","Username":"\u003ctoken\u003e","Secret":"from-ss"}` + "\n",
		`kr list: {"https://ss.example/v1/":"\u003ctoken\u003e","kr.example:5000":"alice"}` + "\n",
		`ss list: {"https://ss.example/v1/":"\u003ctoken\u003e","kr.example:5000":"alice"}` + "\n",
		`kr list with a kr secret: {"https://ss.example/v1/":"\u003ctoken\u003e","kr.example:5000":"alice"}` + "\n",
		"kr's item:\n  attribute.docker_cli = 1\n  attribute.label = Docker Credentials\n  attribute.server = kr.example:5000\n  attribute.username = alice\n  label = kr.example:5000\n  schema = io.docker.Credentials\n",
		`relogin: {"ServerURL":"kr.example:5000","Username":"carol","Secret":"again"} items=1` + "\n",
		"credentials not found in native keychain\nkr get after ss erase: exit 3\n",
		"credentials not found in native keychain\nss get after kr erase: exit 1\n",
		"kr ls: plain/secret\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("output:\n%s", got)
	}
}
