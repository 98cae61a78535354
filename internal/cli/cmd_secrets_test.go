package cli

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kr-keyring/kr/backends"
)

// TestSetCmdParsing: kr set's command line becomes setOptions; a flag that
// goes only with --generate is refused without it, before anything runs.
func TestSetCmdParsing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want *setOptions // nil: refused
	}{
		{[]string{"db/x"}, &setOptions{Name: "db/x", Gen: generateFlags{length: 32, charset: "alnum"}}},
		{[]string{"-f", "--allow-empty", "db/x"}, &setOptions{Name: "db/x", AllowEmpty: true, Force: true, Gen: generateFlags{length: 32, charset: "alnum"}}},
		{[]string{"--generate", "--length", "12", "--charset", "hex", "--print", "db/x"}, &setOptions{Name: "db/x", Gen: generateFlags{on: true, length: 12, charset: "hex", print: true}}},
		{[]string{"--length", "12", "db/x"}, nil},
		{[]string{"db/x", "db/y"}, nil},
	} {
		var got *setOptions
		cmd := setCmd(NewApp(), func(_ context.Context, o *setOptions) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if tc.want == nil {
			if err == nil || got != nil {
				t.Errorf("%q: ran with %+v, %v; want a refusal", tc.args, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.args, got, err, tc.want)
		}
	}
}

// TestRunSet: runSet stores stdin, or a generated value, and refuses an
// empty one or a bad name without storing anything.
func TestRunSet(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "piped", false, nil)
	if err := e.app.runSet(ctx, &setOptions{Name: "db/x"}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.store.Get(ctx, "db/x"); err != nil || string(v) != "piped" {
		t.Fatalf("stored %q, %v", v, err)
	}
	gen := newTestEnv(t, "", false, nil)
	if err := gen.app.runSet(ctx, &setOptions{Name: "db/g", Gen: generateFlags{on: true, length: 12, charset: "digits"}}); err != nil {
		t.Fatal(err)
	}
	if v, err := gen.store.Get(ctx, "db/g"); err != nil || len(v) != 12 || gen.out.Len() != 0 {
		t.Fatalf("generated %q, %v, printed %q", v, err, gen.out.String())
	}
	for _, opts := range []*setOptions{{Name: "db/empty"}, {Name: "../x", AllowEmpty: true}} {
		e := newTestEnv(t, "", false, nil)
		if err := e.app.runSet(ctx, opts); err == nil {
			t.Errorf("%+v: stored", opts)
		}
		if names, _ := e.store.List(ctx, ""); len(names) != 0 {
			t.Errorf("%+v: left %q", opts, names)
		}
	}
}

// TestRmCmdParsing: kr rm takes one name or more.
func TestRmCmdParsing(t *testing.T) {
	var got *rmOptions
	cmd := rmCmd(NewApp(), func(_ context.Context, o *rmOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"a", "b/c"})
	if err := cmd.Execute(); err != nil || !reflect.DeepEqual(got, &rmOptions{Names: []string{"a", "b/c"}}) {
		t.Fatalf("%+v, %v", got, err)
	}
	got = nil
	cmd = rmCmd(NewApp(), func(_ context.Context, o *rmOptions) error { got = o; return nil })
	cmd.SetArgs(nil)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil || got != nil {
		t.Fatalf("no names: ran with %+v, %v", got, err)
	}
}

// TestRunRm: every name is checked before any is removed, and a missing
// one is reported as not found.
func TestRunRm(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "", false, nil)
	for _, n := range []string{"a", "b"} {
		if err := e.store.Set(ctx, n, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.app.runRm(ctx, &rmOptions{Names: []string{"a", "../bad"}}); err == nil {
		t.Fatal("a bad name was accepted")
	}
	if _, err := e.store.Get(ctx, "a"); err != nil {
		t.Fatal("a was removed before the bad name after it was refused")
	}
	if err := e.app.runRm(ctx, &rmOptions{Names: []string{"a", "b"}}); err != nil {
		t.Fatal(err)
	}
	if names, _ := e.store.List(ctx, ""); len(names) != 0 {
		t.Fatalf("left %q", names)
	}
	if err := e.app.runRm(ctx, &rmOptions{Names: []string{"a"}}); !errors.Is(err, backends.ErrNotFound) {
		t.Fatalf("rm of a missing name: %v", err)
	}
}
