package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kr-keyring/kr/backends"
	"github.com/kr-keyring/kr/backends/memory"
)

// faultyStore is a memory store whose writes can fail or be rewritten.
type faultyStore struct {
	*memory.Backend
	failSet    string // Set of this name fails
	rewriteSet string // Set of this name stores something else
	failDelete string // Delete of this name fails
}

func (f *faultyStore) Set(ctx context.Context, name string, v []byte) error {
	switch name {
	case f.failSet:
		return fmt.Errorf("set %s: disk full", name) // stores name the operation and the secret
	case f.rewriteSet:
		v = append([]byte("rewritten:"), v...)
	}
	return f.Backend.Set(ctx, name, v)
}

func (f *faultyStore) Delete(ctx context.Context, name string) error {
	if name == f.failDelete {
		return errors.New("permission denied")
	}
	return f.Backend.Delete(ctx, name)
}

func newFaultyEnv(t *testing.T) (*testEnv, *faultyStore) {
	f := &faultyStore{Backend: memory.New()}
	e := newTestEnv(t, "", false, nil)
	e.store = backends.Checked(f)
	e.app.opened = e.store
	if err := e.store.Set(context.Background(), "old", []byte("the value")); err != nil {
		t.Fatal(err)
	}
	return e, f
}

func (e *testEnv) value(t *testing.T, name string) (string, bool) {
	t.Helper()
	v, err := e.store.Get(context.Background(), name)
	if errors.Is(err, backends.ErrNotFound) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v), true
}

func TestMoveKeepsOldWhenSetFails(t *testing.T) {
	for _, cmd := range []string{"mv", "cp"} {
		e, f := newFaultyEnv(t)
		f.failSet = "new"
		if code := e.run(cmd, "old", "new"); code != 1 {
			t.Fatalf("%s: exit %d, want 1 (stderr %q)", cmd, code, e.err.String())
		}
		if want := "kr: error: set new: disk full; old is unchanged\n"; e.err.String() != want {
			t.Errorf("%s: stderr %q, want %q", cmd, e.err.String(), want)
		}
		if v, ok := e.value(t, "old"); !ok || v != "the value" {
			t.Errorf("%s: old = %q, %v after a failed write", cmd, v, ok)
		}
	}
}

func TestMoveKeepsOldWhenNewReadsBackDifferent(t *testing.T) {
	e, f := newFaultyEnv(t)
	f.rewriteSet = "new"
	if code := e.run("mv", "old", "new"); code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, e.err.String())
	}
	if !strings.HasPrefix(e.err.String(), "kr: error: new does not read back identical; old was kept\n") {
		t.Errorf("stderr %q", e.err.String())
	}
	if strings.Contains(e.err.String(), "the value") {
		t.Errorf("the value reached stderr: %q", e.err.String())
	}
	if v, ok := e.value(t, "old"); !ok || v != "the value" {
		t.Errorf("old = %q, %v after a rewritten copy", v, ok)
	}
}

func TestMoveSaysBothExistWhenDeleteFails(t *testing.T) {
	e, f := newFaultyEnv(t)
	f.failDelete = "old"
	if code := e.run("mv", "old", "new"); code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", code, e.err.String())
	}
	want := "kr: error: new holds the value, but removing old failed: permission denied; both exist now\nkr: hint: 'kr rm old' finishes the rename\n"
	if e.err.String() != want {
		t.Errorf("stderr %q, want %q", e.err.String(), want)
	}
	for _, n := range []string{"old", "new"} {
		if v, ok := e.value(t, n); !ok || v != "the value" {
			t.Errorf("%s = %q, %v; want the value in both", n, v, ok)
		}
	}
}

func TestMoveAndCopy(t *testing.T) {
	e, _ := newFaultyEnv(t)
	if code := e.run("cp", "old", "copy"); code != 0 {
		t.Fatalf("cp: exit %d (stderr %q)", code, e.err.String())
	}
	if code := e.run("mv", "copy", "moved"); code != 0 {
		t.Fatalf("mv: exit %d (stderr %q)", code, e.err.String())
	}
	if _, ok := e.value(t, "copy"); ok {
		t.Errorf("mv left its source")
	}
	for _, n := range []string{"old", "moved"} {
		if v, ok := e.value(t, n); !ok || v != "the value" {
			t.Errorf("%s = %q, %v", n, v, ok)
		}
	}
	if code := e.run("mv", "old", "moved"); code != 1 {
		t.Errorf("mv onto an existing name: exit %d, want 1", code)
	}
	if code := e.run("mv", "--force", "old", "moved"); code != 0 {
		t.Errorf("mv --force: exit %d (stderr %q)", code, e.err.String())
	}
}

// withMount puts a faulty memory store at prefix team in e's namespace.
func (e *testEnv) withMount(t *testing.T) *faultyStore {
	t.Helper()
	team := &faultyStore{Backend: memory.New()}
	e.app.names = backends.NewNamespace(e.app.Backend, []backends.Mount{{
		Prefix: "team", Label: "the team store",
		Open: func(context.Context) (backends.Backend, error) { return team, nil },
	}})
	return team
}

// TestMoveAcrossHomes: mv writes into the other home, reads back, then
// removes the source; a failure at any step before the removal leaves the
// source, and the value goes byte for byte both ways.
func TestMoveAcrossHomes(t *testing.T) {
	value := "a\x00b\r\nc" + strings.Repeat("\xff", 64<<10)
	e, _ := newFaultyEnv(t)
	team := e.withMount(t)
	ctx := context.Background()
	e.store.Set(ctx, "db/prod", []byte(value))
	if code := e.run("mv", "db/prod", "team/db/prod"); code != 0 {
		t.Fatalf("mv into the mount: exit %d (stderr %q)", code, e.err.String())
	}
	if v, err := team.Get(ctx, "db/prod"); err != nil || string(v) != value {
		t.Fatalf("the mount holds %d bytes, %v; want the value", len(v), err)
	}
	if _, ok := e.value(t, "db/prod"); ok {
		t.Fatal("mv into the mount left the source")
	}
	if code := e.run("mv", "team/db/prod", "db/prod"); code != 0 {
		t.Fatalf("mv back: exit %d (stderr %q)", code, e.err.String())
	}
	if v, ok := e.value(t, "db/prod"); !ok || v != value {
		t.Fatalf("back home: %d bytes, %v", len(v), ok)
	}
	if names, _ := team.List(ctx, ""); len(names) != 0 {
		t.Fatalf("the mount still holds %v", names)
	}

	team.rewriteSet = "db/prod"
	if code := e.run("mv", "db/prod", "team/db/prod"); code != 1 {
		t.Fatalf("a rewritten copy: exit %d, want 1 (stderr %q)", code, e.err.String())
	}
	if !strings.Contains(e.err.String(), "team/db/prod does not read back identical; db/prod was kept") {
		t.Errorf("stderr %q", e.err.String())
	}
	if v, ok := e.value(t, "db/prod"); !ok || v != value {
		t.Fatal("a failed read back cost the source")
	}
	team.rewriteSet, team.failSet = "", "db/x"
	if code := e.run("cp", "db/prod", "team/db/x"); code != 1 {
		t.Fatalf("a failed write: exit %d, want 1", code)
	}
	if want := "kr: error: team/ (the team store): set db/x: disk full; db/prod is unchanged\n"; e.err.String() != want {
		t.Errorf("stderr %q, want %q", e.err.String(), want)
	}
}

// TestMountedNamesStayHome: a mounted name never reaches the service's
// store and an unmounted one never the mount; ls lists both homes, names
// the service's store holds under the mount's prefix are hidden.
func TestMountedNamesStayHome(t *testing.T) {
	e, _ := newFaultyEnv(t)
	team := e.withMount(t)
	ctx := context.Background()
	e.store.Set(ctx, "team/stray", []byte("x")) // written by another tool
	e.app.IO.In = strings.NewReader("t")
	if code := e.run("set", "team/db/prod"); code != 0 {
		t.Fatalf("set: exit %d (stderr %q)", code, e.err.String())
	}
	e.app.IO.In = strings.NewReader("p")
	if code := e.run("set", "db/prod"); code != 0 {
		t.Fatalf("set: exit %d (stderr %q)", code, e.err.String())
	}
	if v, err := team.Get(ctx, "db/prod"); err != nil || string(v) != "t" {
		t.Errorf("the mount holds %q, %v", v, err)
	}
	if _, ok := e.value(t, "team/db/prod"); ok {
		t.Error("a mounted name reached the service's store")
	}
	if v, ok := e.value(t, "db/prod"); !ok || v != "p" {
		t.Errorf("the service's store holds %q, %v", v, ok)
	}
	if _, err := team.Get(ctx, "db/prod"); err != nil {
		t.Fatal(err)
	}
	if code := e.run("ls"); code != 0 || e.out.String() != "db/prod\nold\nteam/db/prod\n" {
		t.Errorf("ls: exit %d, %q", code, e.out.String())
	}
	if code := e.run("ls", "te"); code != 0 || e.out.String() != "team/db/prod\n" {
		t.Errorf("ls te: exit %d, %q", code, e.out.String())
	}
	if code := e.run("ls", "team/db/"); code != 0 || e.out.String() != "team/db/prod\n" {
		t.Errorf("ls team/db/: exit %d, %q", code, e.out.String())
	}
	if code := e.run("get", "team/stray"); code != 3 {
		t.Errorf("a name under the mount is read from the service's store: exit %d", code)
	}
	if code := e.run("rm", "team/db/prod"); code != 0 {
		t.Fatalf("rm: exit %d (stderr %q)", code, e.err.String())
	}
	if v, ok := e.value(t, "db/prod"); !ok || v != "p" {
		t.Error("rm of a mounted name touched the service's store")
	}
}
