package readlog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kr-keyring/kr/agent"
)

// TestBounded: the log never holds more than two files of Max bytes,
// keeps the newest entries, reads back oldest first, and is 0600.
func TestBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l := &Log{Path: path, Max: 1000}
	const n = 200
	for i := 0; i < n; i++ {
		if err := l.Append(agent.Read{Time: "t", Name: fmt.Sprintf("app/%03d", i), Program: "/usr/bin/x", PID: i, Decision: agent.DecisionAllowed}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1000 {
			t.Errorf("%s holds %d bytes, more than the bound", p, fi.Size())
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v", p, fi.Mode().Perm())
		}
	}
	reads, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(reads) == 0 || len(reads) >= n || reads[len(reads)-1].Name != fmt.Sprintf("app/%03d", n-1) {
		t.Fatalf("read back %d entries, last %+v", len(reads), reads[len(reads)-1])
	}
	for i := 1; i < len(reads); i++ {
		if reads[i].PID != reads[i-1].PID+1 {
			t.Fatalf("entries out of order or missing at %d: %+v", i, reads[i-1:i+1])
		}
	}
}

// TestNarrowsAndRefusesSymlink: a log someone widened is made 0600
// again, and a symlink in its place is not followed.
func TestNarrowsAndRefusesSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	l := &Log{Path: path}
	if err := l.Append(agent.Read{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("widened log left %v", fi.Mode().Perm())
	}
	target := filepath.Join(dir, "elsewhere")
	os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(agent.Read{Name: "a"}); err == nil {
		t.Error("the log followed a symlink")
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Error("the symlink's target was written")
	}
}
