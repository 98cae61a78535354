package gitcred

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// fakeKeychain is internet passwords in a slice; find matches as the
// Keychain does, an unset port or path matching any.
type fakeKeychain struct {
	items []keychainItem
	now   time.Time
}

func sameAddress(a, b keychainItem) bool {
	return a.Protocol == b.Protocol && a.Server == b.Server && a.Port == b.Port && a.Path == b.Path && a.Account == b.Account
}

func (f *fakeKeychain) find(q keychainItem) ([]keychainItem, error) {
	var out []keychainItem
	for _, it := range f.items {
		if it.Protocol == q.Protocol && it.Server == q.Server && (q.Account == "" || it.Account == q.Account) &&
			(q.Port == 0 || it.Port == q.Port) && (q.Path == "" || it.Path == q.Path) {
			it.Data = nil
			out = append(out, it)
		}
	}
	return out, nil
}

func (f *fakeKeychain) read(q keychainItem) (keychainItem, error) {
	for _, it := range f.items {
		if sameAddress(it, q) {
			it.Data = bytes.Clone(it.Data)
			return it, nil
		}
	}
	return keychainItem{}, errNoCred
}

func (f *fakeKeychain) put(it keychainItem) error {
	f.now = f.now.Add(time.Second)
	it.Data, it.Modified = bytes.Clone(it.Data), f.now
	for i := range f.items {
		if sameAddress(f.items[i], it) {
			f.items[i] = it
			return nil
		}
	}
	f.items = append(f.items, it)
	return nil
}

func (f *fakeKeychain) remove(q keychainItem) error {
	n := len(f.items)
	f.items = slices.DeleteFunc(f.items, func(it keychainItem) bool { return sameAddress(it, q) })
	if len(f.items) == n {
		return errNoCred
	}
	return nil
}

// TestKeychainLayout: the internet passwords git-credential-osxkeychain
// writes (host and port apart, the Keychain's protocol code, path only when
// sent, newer attributes as lines of the data), read back for their own
// address only; protocols it has no code for are neither stored nor found.
func TestKeychainLayout(t *testing.T) {
	f := &fakeKeychain{}
	h := &Helper{Store: Keychain{api: f}, Now: func() time.Time { return clock }}
	run(t, h, "store", "protocol=https\nhost=example.org:8443\npath=team/repo.git\nusername=alice\npassword=pw\npassword_expiry_utc=1900000000\n")
	run(t, h, "store", "protocol=ftp\nhost=example.org\nusername=bob\npassword=ftp-pw\n")
	run(t, h, "store", "protocol=cert\npath=/etc/x.p12\nusername=c\npassword=nope\n")
	want := []keychainItem{
		{Protocol: "htps", Server: "example.org", Port: 8443, Path: "team/repo.git", Account: "alice", Data: []byte("pw\npassword_expiry_utc=1900000000")},
		{Protocol: "ftp ", Server: "example.org", Account: "bob", Data: []byte("ftp-pw")},
	}
	if len(f.items) != len(want) {
		t.Fatalf("items %+v", f.items)
	}
	for i, w := range want {
		if got := f.items[i]; !sameAddress(got, w) || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("item %d = %+v, want %+v", i, got, w)
		}
	}
	f.put(keychainItem{Protocol: "htps", Server: "example.org", Account: "evil", Data: []byte("no-port")})
	for in, want := range map[string]string{
		"protocol=https\nhost=example.org:8443\n":                      "username=alice\npassword=pw\npassword_expiry_utc=1900000000\n",
		"protocol=https\nhost=example.org:8443\npath=team/repo.git\n":  "username=alice\npassword=pw\npassword_expiry_utc=1900000000\n",
		"protocol=https\nhost=example.org:8443\npath=team/other.git\n": "",
		"protocol=https\nhost=example.org:8444\n":                      "",
		"protocol=http\nhost=example.org:8443\n":                       "",
		"protocol=ftp\nhost=example.org\n":                             "username=bob\npassword=ftp-pw\n",
		"protocol=ftps\nhost=example.org\n":                            "",
		"protocol=cert\npath=/etc/x.p12\n":                             "",
	} {
		if got := run(t, h, "get", in); got != want {
			t.Errorf("get %q = %q, want %q", in, got, want)
		}
	}
	run(t, h, "erase", "protocol=https\nhost=example.org:8443\n")
	if len(f.items) != 2 || f.items[1].Account != "evil" {
		t.Fatalf("after erase: %+v", f.items)
	}
}
