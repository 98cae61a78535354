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

// TestMacAnnouncements: what macOS announces maps to the event chosen and
// its reason; a sleep request is answered whatever the agent does, since
// an unanswered one holds the machine awake.
func TestMacAnnouncements(t *testing.T) {
	only := func(events ...string) func(string) bool {
		return func(e string) bool { return slices.Contains(events, e) }
	}
	if got := macNotificationReason("com.apple.screenIsLocked", only(Screen)); got != "screen locked" {
		t.Errorf("screen lock with screen chosen: %q", got)
	}
	for _, tc := range []struct {
		name string
		want func(string) bool
	}{
		{"com.apple.screenIsLocked", only(Sleep, Session)},
		{"com.apple.screenIsUnlocked", only(All...)},
		{"com.apple.screensaver.didstart", only(All...)},
	} {
		if got := macNotificationReason(tc.name, tc.want); got != "" {
			t.Errorf("%s: locks (%q)", tc.name, got)
		}
	}
	for _, tc := range []struct {
		msg    uint32
		want   func(string) bool
		reason string
		answer bool
	}{
		{macSystemWillSleep, only(Sleep), "system going to sleep", true},
		{macSystemWillSleep, only(Screen), "", true},
		{macCanSystemSleep, only(All...), "", true},
		{0xE0000300, only(All...), "", false}, // has powered on: nothing to answer
	} {
		reason, answer := macPowerMessage(tc.msg, tc.want)
		if reason != tc.reason || answer != tc.answer {
			t.Errorf("power message %#x: %q, %v; want %q, %v", tc.msg, reason, answer, tc.reason, tc.answer)
		}
	}
	if macMissing(Session) == "" || macMissing(Screen) != "" || macMissing(Sleep) != "" {
		t.Errorf("macOS listens for screen and sleep, not session")
	}
}
