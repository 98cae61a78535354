//go:build windows

package dockercred

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var krHelper = flag.String("kr.helper", "", "kr.exe installed as docker-credential-kr.exe")

// dockerHelper runs the helper as docker's client does; it returns stdout
// and whether the helper failed.
func dockerHelper(t *testing.T, action, request string) (string, bool) {
	t.Helper()
	cmd := exec.Command(*krHelper, action)
	cmd.Env = append(os.Environ(), "KR_BACKEND=dpapi")
	cmd.Stdin = strings.NewReader(request)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", *krHelper, action, err)
	}
	if errOut.Len() > 0 {
		t.Logf("%s %s: exit %v, stderr %q", *krHelper, action, err, errOut.String())
	}
	return out.String(), err != nil
}

// TestDockerHelperCredentialManager (run under wine by
// TestWineCredentialManager) drives kr as docker-credential-kr.exe on the
// real Credential Manager: store writes docker-credential-wincred's generic
// credential (target the server URL, UserName, the secret as the blob, the
// label attribute), get, list and erase answer as docker's helper does.
// Where Credential Manager keeps no attributes (wine's), no credential has
// docker's label, so get and list find nothing, as they do for
// docker-credential-wincred there; the test asserts that instead.
func TestDockerHelperCredentialManager(t *testing.T) {
	if *krHelper == "" {
		t.Skip("run by TestWineCredentialManager with -kr.helper")
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	server := "https://kr-" + hex.EncodeToString(rnd[:]) + ".example:5000"
	api := systemWinCred()
	t.Cleanup(func() {
		for _, s := range []string{server, server + "/probe"} {
			api.remove(s)
		}
	})
	if err := api.write(winCred{Target: server + "/probe", UserName: "u", Blob: []byte("x"), Label: Label}); err != nil {
		t.Fatal(err)
	}
	probe, err := api.read(server + "/probe")
	if err != nil {
		t.Fatal(err)
	}
	keepsAttributes := probe.Label == Label
	if !keepsAttributes {
		t.Log("this Credential Manager drops attributes (wine): docker's label is lost, get and list find nothing")
	}

	for _, c := range []Credentials{{server, "alice", "s3cret-é"}, {server, TokenUsername, "identity-token"}} {
		in, _ := json.Marshal(c)
		if out, failed := dockerHelper(t, "store", string(in)); failed {
			t.Fatalf("store: %s", out)
		}
		got, err := api.read(server)
		if err != nil || got.UserName != c.Username || string(got.Blob) != c.Secret || keepsAttributes && got.Label != Label {
			t.Fatalf("stored %+v, %v; want target %s, user %s, the secret, label %q", got, err, server, c.Username, Label)
		}
		out, failed := dockerHelper(t, "get", server)
		if keepsAttributes {
			var back Credentials
			if failed || json.Unmarshal([]byte(out), &back) != nil || back != c {
				t.Fatalf("get: %q (failed %v), want %+v", out, failed, c)
			}
		} else if !failed || strings.TrimSpace(out) != msgNotFound {
			t.Fatalf("get without attributes: %q (failed %v), want %q", out, failed, msgNotFound)
		}
	}
	for _, other := range []string{"https://x" + server[len("https://"):], strings.TrimSuffix(server, ":5000") + ":5001", "http://" + server[len("https://"):]} {
		if out, failed := dockerHelper(t, "get", other); !failed || strings.TrimSpace(out) != msgNotFound {
			t.Errorf("get %s: %q, want %q", other, out, msgNotFound)
		}
	}
	out, failed := dockerHelper(t, "list", "unused")
	var m map[string]string
	if failed || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("list: %q", out)
	}
	if _, listed := m[server]; listed != keepsAttributes || keepsAttributes && m[server] != TokenUsername {
		t.Fatalf("list = %v", m)
	}
	if out, failed := dockerHelper(t, "erase", server); failed {
		t.Fatalf("erase: %q", out)
	}
	if _, err := api.read(server); !errors.Is(err, errNoCred) {
		t.Fatalf("after erase: %v", err)
	}
	if out, failed := dockerHelper(t, "erase", server); failed {
		t.Fatalf("second erase (logout is idempotent): %q", out)
	}
}
