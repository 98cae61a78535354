package testenv

import "testing"

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "false": false, "0": false,
		"true": true, "1": true, "yes": true, "TRUE": true,
	} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI() = %v, want %v", v, got, want)
		}
	}
}

// fakeT records whether Skip skipped or failed, without ending the real test.
type fakeT struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Skip(args ...any)               { f.skipped = true; f.msg = args[0].(string) }
func (f *fakeT) Fatalf(format string, _ ...any) { f.failed = true; f.msg = format }

func TestSkipFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		skip, fail bool
	}{
		{"", true, false},
		{"0", true, false},
		{"false", true, false},
		{"1", false, true},
		{"true", false, true},
	} {
		t.Setenv("CI", tc.ci)
		f := &fakeT{}
		Tool(f, "kr-no-such-program-for-testenv", "none")
		if f.skipped != tc.skip || f.failed != tc.fail {
			t.Errorf("CI=%q: skipped %v failed %v, want %v %v", tc.ci, f.skipped, f.failed, tc.skip, tc.fail)
		}
	}
}

func TestToolFinds(t *testing.T) {
	t.Setenv("CI", "")
	f := &fakeT{}
	if p := Tool(f, "sh", "dash"); p == "" || f.skipped || f.failed {
		t.Errorf("Tool(sh) = %q, skipped %v failed %v", p, f.skipped, f.failed)
	}
}
