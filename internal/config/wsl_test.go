package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWSLExe(t *testing.T) {
	dir := t.TempDir()
	if exe, err := WSLExe(dir); exe != "" || err != nil {
		t.Fatalf("no file: %q, %v", exe, err)
	}
	for _, c := range []struct{ body, want, err string }{
		{`{"kr_exe": "/mnt/c/kr/kr.exe"}`, "/mnt/c/kr/kr.exe", ""},
		{`{"kr_exe": "kr.exe"}`, "", "absolute path"},
		{`{"kr_exe": "/a", "kr_exe": "/b"}`, "", "damaged"},
		{`{"krexe": "/a"}`, "", "damaged"},
		{`[]`, "", "damaged"},
	} {
		if err := os.WriteFile(filepath.Join(dir, WSLFile), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		exe, err := WSLExe(dir)
		if exe != c.want || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: %q, %v; want %q, %q", c.body, exe, err, c.want, c.err)
		}
	}
}

func FuzzParseWSL(f *testing.F) {
	f.Add([]byte(`{"kr_exe": "/mnt/c/kr/kr.exe"}`))
	f.Add([]byte(`{"kr_exe": ""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		exe, err := parseWSL("wsl.json", b)
		if err == nil && (!strings.HasPrefix(exe, "/") || strings.ContainsRune(exe, 0)) {
			t.Fatalf("accepted %q", exe)
		}
	})
}
