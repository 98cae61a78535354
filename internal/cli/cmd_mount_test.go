package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kr-keyring/kr/backends/filevault"
)

// TestMountCmdParsing: kr mount's command line becomes mountOptions; one
// argument alone is refused before anything runs.
func TestMountCmdParsing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want *mountOptions // nil: refused
	}{
		{nil, &mountOptions{}},
		{[]string{"--json"}, &mountOptions{JSON: true}},
		{[]string{"team", "/srv/team-vault"}, &mountOptions{Prefix: "team", Target: "/srv/team-vault"}},
		{[]string{"--ttl", "5m", "cloud", "aws-ssm:eu-west-1"}, &mountOptions{Prefix: "cloud", Target: "aws-ssm:eu-west-1", TTL: 5 * time.Minute}},
		{[]string{"team"}, nil},
		{[]string{"a", "b", "c"}, nil},
	} {
		var got *mountOptions
		cmd := mountCmd(NewApp(), func(_ context.Context, o *mountOptions) error { got = o; return nil })
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

// TestRunMount: runMount records a vault's directory at a prefix and lists
// it; a directory with no vault, an overlapping prefix and --ttl for a
// vault are refused with nothing recorded.
func TestRunMount(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, "", false, nil)
	empty, dir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vault.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	mounts := func() int {
		rec, err := e.app.storeRecord()
		if err != nil {
			t.Fatal(err)
		}
		return len(rec.Mounts(e.app.Service))
	}
	if err := e.app.runMount(ctx, &mountOptions{Prefix: "team", Target: empty}); !errors.Is(err, filevault.ErrNoVault) || mounts() != 0 {
		t.Fatalf("a directory with no vault: %v, %d mount(s)", err, mounts())
	}
	if err := e.app.runMount(ctx, &mountOptions{Prefix: "team", Target: dir, TTL: time.Minute}); err == nil || mounts() != 0 {
		t.Fatalf("--ttl for a vault: %v, %d mount(s)", err, mounts())
	}
	if err := e.app.runMount(ctx, &mountOptions{Prefix: "team/", Target: dir}); err != nil || mounts() != 1 {
		t.Fatalf("mount: %v, %d mount(s)", err, mounts())
	}
	if err := e.app.runMount(ctx, &mountOptions{Prefix: "team/prod", Target: empty}); err == nil || mounts() != 1 {
		t.Fatalf("an overlapping prefix: %v, %d mount(s)", err, mounts())
	}
	e.out.Reset()
	if err := e.app.runMount(ctx, &mountOptions{JSON: true}); err != nil || !strings.Contains(e.out.String(), `"prefix": "team/"`) {
		t.Fatalf("list: %q, %v", e.out.String(), err)
	}
}
