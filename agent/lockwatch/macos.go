package lockwatch

// What macOS announces, and what the agent makes of it. The darwin half
// (lockwatch_darwin.go) only carries announcements here from the
// distributed notification center and IOKit's power notifications; this
// part is plain Go, so it is tested on every OS.

// macNotifications are the distributed notifications the agent observes,
// with the event each one is and the reason a lock gives.
var macNotifications = []struct{ name, event, reason string }{
	{"com.apple.screenIsLocked", Screen, "screen locked"},
}

// IOKit's power messages (IOMessage.h: iokit_common_msg(0x270), (0x280)).
const (
	macCanSystemSleep  = 0xE0000270
	macSystemWillSleep = 0xE0000280
)

// macNotificationReason is why the agent locks on the distributed
// notification name, or "" when it does not (not an announcement it
// knows, or an event not chosen).
func macNotificationReason(name string, want func(string) bool) string {
	for _, n := range macNotifications {
		if n.name == name && want(n.event) {
			return n.reason
		}
	}
	return ""
}

// macPowerMessage is what a power message means: the reason to lock ("" for
// none), and whether IOKit waits for an answer (IOAllowPowerChange), which
// must be given whether or not the agent locks: an unanswered sleep
// request holds the machine awake for half a minute.
func macPowerMessage(msg uint32, want func(string) bool) (reason string, answer bool) {
	switch msg {
	case macSystemWillSleep:
		if want(Sleep) {
			reason = "system going to sleep"
		}
		return reason, true
	case macCanSystemSleep:
		return "", true
	}
	return "", false
}

// macMissing says why an event is not listened for on macOS: fast user
// switching is announced only to applications (NSWorkspace's own
// notification center), which a background process does not have.
func macMissing(event string) string {
	switch event {
	case Session:
		return Session + ": macOS announces a user switch only to applications (kr lock, or the agent's ttl, put keys away)"
	}
	return ""
}
