package lockwatch

import (
	"context"
	"slices"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string][]string{
		"none": {}, "screen,sleep": {Screen, Sleep}, " sleep , screen,sleep": {Sleep, Screen},
		"screen,session,sleep": All,
	} {
		got, err := Parse(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "screen,", "suspend", "none,screen"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

// TestNothingChosen: with no event chosen nothing is asked of any bus.
func TestNothingChosen(t *testing.T) {
	w, m := Watch(context.Background(), Options{On: []string{}, Getenv: func(string) string { panic("a bus was looked for") }})
	if w != nil || m != nil {
		t.Errorf("Watch with nothing chosen: %v, %v", w, m)
	}
}
