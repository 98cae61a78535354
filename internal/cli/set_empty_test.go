package cli

import (
	"context"
	"strings"
	"testing"
)

// TestSetRefusesEmpty: `kr set x </dev/null` (a script whose pipe broke, a
// prompt answered with Enter) must not replace a value with nothing. An
// empty value is stored only with --allow-empty.
func TestSetRefusesEmpty(t *testing.T) {
	ctx := context.Background()
	for _, tty := range []bool{false, true} {
		e := newTestEnv(t, "", tty, nil)
		e.store.Set(ctx, "api", []byte("old"))
		e.term.answers = []string{"y", "", ""} // at a terminal: overwrite? yes
		if code := e.run("set", "api"); code != 1 {
			t.Fatalf("tty=%v: empty value: exit %d, want 1", tty, code)
		}
		if !strings.Contains(e.err.String(), "kr: error: empty value for api; nothing was stored\n") ||
			!strings.Contains(e.err.String(), "--allow-empty") {
			t.Errorf("tty=%v: stderr %q", tty, e.err.String())
		}
		if v, err := e.store.Get(ctx, "api"); err != nil || string(v) != "old" {
			t.Fatalf("tty=%v: after a refused set: %q, %v; want the old value", tty, v, err)
		}

		e.app.IO.In = strings.NewReader("")
		e.term.answers = []string{"y", "", ""}
		if code := e.run("set", "--allow-empty", "api"); code != 0 {
			t.Fatalf("tty=%v: --allow-empty: exit %d, stderr %q", tty, code, e.err.String())
		}
		if v, err := e.store.Get(ctx, "api"); err != nil || len(v) != 0 {
			t.Fatalf("tty=%v: --allow-empty stored %q, %v", tty, v, err)
		}
	}
}
