package cli

import (
	"fmt"
	"time"
)

// kr's words for counts and times, one way everywhere: "1 secret",
// "2 secrets", never "secret(s)"; one clock format in prose.

// plural is "1 secret", "2 secrets".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// pluralIs is "1 secret is", "2 secrets are".
func pluralIs(n int, what string) string {
	if n == 1 {
		return plural(n, what) + " is"
	}
	return plural(n, what) + " are"
}

// clock is how kr writes a moment for people: local time to the minute,
// as ls -l shows it. JSON output uses RFC 3339 instead.
func clock(t time.Time) string {
	return t.Local().Format("2006-01-02 15:04")
}

// clockOf is clock for an RFC 3339 time from the agent, shown as given
// when it does not parse.
func clockOf(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339, rfc3339)
	if err != nil {
		return rfc3339
	}
	return clock(t)
}
