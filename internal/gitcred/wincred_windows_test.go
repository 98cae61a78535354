//go:build windows

package gitcred

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

var (
	krHelper      = flag.String("kr.helper", "", "kr.exe installed as git-credential-kr.exe")
	wincredHelper = flag.String("kr.wincred", "", "git-credential-wincred.exe built from git's contrib sources")
)

// helperRun runs a git credential helper with action and request; a
// failure is fatal.
func helperRun(t *testing.T, exe, action, request string) string {
	t.Helper()
	cmd := exec.Command(exe, action)
	cmd.Env = append(os.Environ(), "KR_BACKEND=dpapi")
	cmd.Stdin = strings.NewReader(request)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", exe, action, err, errOut.String())
	}
	return out.String()
}

// TestCredentialManagerInterop (run under wine by TestWineCredentialManager)
// drives kr as git-credential-kr.exe on the real Credential Manager: what it
// stores is Git Credential Manager's generic credential (target git:URL,
// UserName, UTF-16LE password), git-credential-wincred finds it, and kr
// finds what git-credential-wincred and GCM stored, for their own host,
// protocol and port only.
func TestCredentialManagerInterop(t *testing.T) {
	if *krHelper == "" || *wincredHelper == "" {
		t.Skip("run by TestWineCredentialManager with -kr.helper and -kr.wincred")
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	host := "kr-" + hex.EncodeToString(rnd[:]) + ".example"
	api := systemWinCred()
	t.Cleanup(func() {
		creds, _ := api.list("git:")
		for _, c := range creds {
			if strings.Contains(c.Target, host) {
				api.remove(c.Target)
			}
		}
	})
	kr := func(action, req string) string { return helperRun(t, *krHelper, action, req) }
	wc := func(action, req string) string { return helperRun(t, *wincredHelper, action, req) }

	// kr stores: GCM's layout, read by git-credential-wincred.
	kr("store", "protocol=https\nhost="+host+"\nusername=alice\npassword=kr-pw-é\n")
	c, err := api.read("git:https://" + host)
	if err != nil {
		t.Fatalf("kr's credential is not at git:https://%s: %v", host, err)
	}
	if c.UserName != "alice" || !bytes.Equal(c.Blob, utf16le("kr-pw-é")) || c.Comment != "" {
		t.Fatalf("kr stored %+v", c)
	}
	if got := wc("get", "protocol=https\nhost="+host+"\n"); got != "username=alice\npassword=kr-pw-é\n" {
		t.Fatalf("git-credential-wincred get of kr's credential: %q", got)
	}
	// A second user at the same place goes under a target naming it.
	kr("store", "protocol=https\nhost="+host+"\nusername=bob@corp\npassword=bob-pw\n")
	if c, err := api.read("git:https://bob_corp@" + host); err != nil || c.UserName != "bob@corp" {
		t.Fatalf("second user: %+v, %v", c, err)
	}
	if got := kr("get", "protocol=https\nhost="+host+"\nusername=bob@corp\n"); got != "username=bob@corp\npassword=bob-pw\n" {
		t.Fatalf("kr get bob: %q", got)
	}

	// git-credential-wincred stores (user in the target, a port, a path);
	// kr reads it for that place only.
	wc("store", "protocol=https\nhost="+host+":8443\npath=team/a b.git\nusername=carol\npassword=wc-pw\n")
	if got := kr("get", "protocol=https\nhost="+host+":8443\npath=team/a b.git\n"); got != "username=carol\npassword=wc-pw\n" {
		t.Fatalf("kr get of git-credential-wincred's credential: %q", got)
	}
	for _, req := range []string{
		"protocol=https\nhost=" + host + ":8444\n",
		"protocol=http\nhost=" + host + ":8443\n",
		"protocol=https\nhost=" + host + ":8443\npath=team/other.git\n",
		"protocol=https\nhost=x" + host + ":8443\n",
	} {
		if got := kr("get", req); got != "" {
			t.Errorf("kr get %q = %q, want nothing", req, got)
		}
	}

	// GCM's own layout, written as GCM writes it (GCM itself does not
	// run under wine): a percent-encoded path, a refresh token line.
	gcm := winCred{Target: "git:https://" + host + "/org/r%20x", UserName: "dave", Blob: utf16le("gcm-pw\noauth_refresh_token=rt")}
	if err := api.write(gcm); err != nil {
		t.Fatal(err)
	}
	if got := kr("get", "protocol=https\nhost="+host+"\npath=org/r x\n"); got != "username=dave\npassword=gcm-pw\noauth_refresh_token=rt\n" {
		t.Fatalf("kr get of GCM's credential: %q", got)
	}

	// An expiry kr stored holds though wine keeps no attributes: an
	// expired password is never returned.
	kr("store", "protocol=https\nhost="+host+":9000\nusername=erin\npassword=soon\npassword_expiry_utc=4102444800\n")
	if got := kr("get", "protocol=https\nhost="+host+":9000\n"); got != "username=erin\npassword=soon\npassword_expiry_utc=4102444800\n" {
		t.Fatalf("kr get with expiry: %q", got)
	}
	if err := api.write(winCred{Target: "git:https://" + host + ":9001", UserName: "erin", Blob: utf16le("old\npassword_expiry_utc=1000")}); err != nil {
		t.Fatal(err)
	}
	if got := kr("get", "protocol=https\nhost="+host+":9001\n"); got != "" {
		t.Fatalf("kr returned an expired password: %q", got)
	}

	// Erase through either helper removes the other's.
	kr("erase", "protocol=https\nhost="+host+":8443\n")
	if got := wc("get", "protocol=https\nhost="+host+":8443\n"); got != "" {
		t.Fatalf("git-credential-wincred still finds %q after kr's erase", got)
	}
	wc("erase", "protocol=https\nhost="+host+"\nusername=alice\n")
	wc("erase", "protocol=https\nhost="+host+"\n")
	if got := kr("get", "protocol=https\nhost="+host+"\nusername=alice\n"); got != "" {
		t.Fatalf("kr still finds %q after git-credential-wincred's erase", got)
	}
}
