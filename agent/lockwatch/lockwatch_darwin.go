package lockwatch

import "context"

// On macOS the screen-lock and sleep announcements come through the
// distributed notification center and IOKit, which kr reaches only with
// cgo; this build listens for none of them, and says so.
func watch(ctx context.Context, o Options) (watching, missing []string) {
	for _, e := range o.On {
		missing = append(missing, e+": not supported on macOS yet (kr lock, or the agent's ttl, put keys away)")
	}
	return nil, missing
}
