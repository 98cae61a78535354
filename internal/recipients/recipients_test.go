package recipients

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const (
	a = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
	b = "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg"
)

func TestAcceptAndRead(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, "config", FileName)}
	vault := filepath.Join(dir, "vault")
	if acc, err := r.Accepted(vault); err != nil || len(acc) != 0 {
		t.Fatalf("no record yet: %q, %v", acc, err)
	}
	if err := r.Accept(vault, a); err != nil {
		t.Fatal(err)
	}
	if err := r.Accept(vault+string(filepath.Separator)+".", b, a); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(vault + string(filepath.Separator)); err != nil || !slices.Equal(acc, []string{a, b}) {
		t.Fatalf("Accepted = %q, %v", acc, err)
	}
	if acc, _ := r.Accepted(filepath.Join(dir, "other")); len(acc) != 0 {
		t.Fatalf("another vault shares the list: %q", acc)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(r.Path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("record mode: %v, %v", fi, err)
		}
	}
	// A relative directory is recorded by its absolute form.
	t.Chdir(dir)
	if acc, _ := r.Accepted("vault"); !slices.Equal(acc, []string{a, b}) {
		t.Fatalf("relative dir: %q", acc)
	}
}

func TestStrictRead(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, FileName)}
	v := filepath.Join(dir, "v")
	vj := strings.ReplaceAll(v, `\`, `\\`)
	for _, bad := range []string{
		`{"version":1,"vaults":{"` + vj + `":["` + a + `"]},"Vaults":{"` + vj + `":["` + b + `"]}}`,
		`{"version":1,"vaults":{"` + vj + `":["` + a + `"],"` + vj + `":["` + b + `"]}}`,
		`{"version":2,"vaults":{}}`,
		`{"version":1,"vaults":{},"extra":1}`,
		`not json`,
	} {
		if err := os.WriteFile(r.Path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if acc, err := r.Accepted(v); err == nil {
			t.Errorf("read %s as %q", bad, acc)
		}
		if err := r.Accept(v, a); err == nil {
			t.Errorf("Accept rewrote %s", bad)
		}
	}
}

func TestDefault(t *testing.T) {
	dir := t.TempDir()
	r, err := Default(func(k string) string {
		if k == "KR_CONFIG_DIR" {
			return dir
		}
		return ""
	})
	if err != nil || r.Path != filepath.Join(dir, FileName) {
		t.Fatalf("Default = %+v, %v", r, err)
	}
}

func TestFingerprint(t *testing.T) {
	fa, fb := Fingerprint(a), Fingerprint(b)
	if !regexp.MustCompile(`^[0-9a-f]{4}(:[0-9a-f]{4}){3}$`).MatchString(fa) {
		t.Fatalf("Fingerprint = %q", fa)
	}
	// Anyone can check one by hand: printf %s age1... | sha256sum | cut -c1-16
	if fa != "cf7e:5682:3131:5068" {
		t.Fatalf("Fingerprint(%s) = %q", a, fa)
	}
	if fa == fb {
		t.Fatalf("fingerprints %q %q", fa, fb)
	}
}

func TestForget(t *testing.T) {
	dir := t.TempDir()
	r := &Record{Path: filepath.Join(dir, FileName)}
	vault := filepath.Join(dir, "vault")
	if err := r.Forget(vault, a); err != nil {
		t.Fatalf("Forget with no record: %v", err)
	}
	if err := r.Accept(vault, a, b); err != nil {
		t.Fatal(err)
	}
	if err := r.Forget(vault, b); err != nil {
		t.Fatal(err)
	}
	if acc, err := r.Accepted(vault); err != nil || !slices.Equal(acc, []string{a}) {
		t.Fatalf("after Forget: %q, %v", acc, err)
	}
}
