package config

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// appendLine is a read-modify-write that loses a line when two run
// unlocked.
func appendLine(path, line string) error {
	return Update(path, func(old []byte) ([]byte, error) {
		return append(old, line+"\n"...), nil
	})
}

func checkLines(t *testing.T, path string, want []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(string(b))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("record holds %d lines, want %d: an update was lost\n%q", len(got), len(want), got)
	}
}

func TestUpdateConcurrentGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "record")
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("line%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = appendLine(path, fmt.Sprintf("line%d", i))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	checkLines(t, path, want)
	if fi, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v, %v", fi, err)
	}
}

// TestUpdateConcurrentProcesses: the lock holds between processes, not
// only between descriptors of one.
func TestUpdateConcurrentProcesses(t *testing.T) {
	if line := os.Getenv("KR_TEST_UPDATE_LINE"); line != "" {
		if err := appendLine(os.Getenv("KR_TEST_UPDATE_PATH"), line); err != nil {
			t.Fatal(err)
		}
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "record")
	const n = 8
	var cmds []*exec.Cmd
	var want []string
	for i := range n {
		line := fmt.Sprintf("proc%d", i)
		want = append(want, line)
		cmd := exec.Command(self, "-test.run=^TestUpdateConcurrentProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "KR_TEST_UPDATE_LINE="+line, "KR_TEST_UPDATE_PATH="+path)
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v", err)
		}
	}
	checkLines(t, path, want)
}

func TestUpdateErrorKeepsRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "record")
	if err := appendLine(path, "kept"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Update(path, func(old []byte) ([]byte, error) { return []byte("lost"), boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	checkLines(t, path, []string{"kept"})
	// Nothing to change writes nothing: a missing record stays missing.
	missing := filepath.Join(t.TempDir(), "none")
	if err := Update(missing, func(old []byte) ([]byte, error) { return old, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("an unchanged missing record was written: %v", err)
	}
}

// TestUpdateStoresKeepsOthers: a change made through UpdateStores sees
// the services another kr recorded since this one read the file.
func TestUpdateStoresKeepsOthers(t *testing.T) {
	dir := t.TempDir()
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = UpdateStores(dir, func(s *Stores) error {
				s.Set(fmt.Sprintf("svc%d", i), "linux", "file")
				return nil
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	s, err := LoadStores(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if s.Get(fmt.Sprintf("svc%d", i), "linux") != "file" {
			t.Errorf("svc%d lost", i)
		}
	}
}
