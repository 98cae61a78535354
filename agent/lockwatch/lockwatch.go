// Package lockwatch tells the agent when the desktop wants keys put away:
// the screen locks, the machine is about to sleep, or the user switches
// away from the session. Each OS's half listens where that OS announces
// it (D-Bus on Linux and the BSDs, WTS session notifications and power
// broadcasts on Windows); a missing bus or service is not an error, it is
// an event not listened for, which Watch reports.
package lockwatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The events the agent may lock on.
const (
	Screen  = "screen"  // the screen locks (screensaver, logind's Lock)
	Sleep   = "sleep"   // suspend or hibernate is about to happen
	Session = "session" // the session stops being the active one (a user switch)
)

// All is every event, the default.
var All = []string{Screen, Session, Sleep}

// Parse reads --lock-on's value: a comma-separated list of events, or
// "none".
func Parse(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return []string{}, nil
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(All, f) {
			return nil, fmt.Errorf("unknown lock event %q (want %s, or none)", f, strings.Join(All, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Options configures Watch.
type Options struct {
	// On lists the events to lock on.
	On []string
	// Lock is called, from Watch's own goroutine, with why: "screen
	// locked", "system going to sleep", "session switched away".
	Lock func(reason string)
	// Getenv finds the buses' addresses (os.Getenv, or a test's).
	Getenv func(string) string
	// Ignored, when set, is called for each announcement that did not
	// come from the owner of the name it speaks for.
	Ignored func(what string)
}

// Watch starts listening for each event in o.On until ctx ends. It
// returns at once (every call to a bus is bounded): watching lists the
// events it listens for, missing says for the others why not.
func Watch(ctx context.Context, o Options) (watching, missing []string) {
	if len(o.On) == 0 {
		return nil, nil
	}
	return watch(ctx, o)
}
